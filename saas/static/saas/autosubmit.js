// Submits forms marked data-autosubmit (the login hand-off between hosts); without script the
// form's button does the same.
document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
  form.submit();
});
