"""The upload form the pages use: one file field, checked by images.checks."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from images.checks import ACCEPTED_LABEL, CheckedImage, image_check


class ImageUploadForm(forms.Form):
    image = forms.FileField(
        label="Image",
        help_text=f"{ACCEPTED_LABEL}; shown as a square, cropped to the middle.",
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}),
    )

    def clean_image(self) -> CheckedImage:
        upload = self.cleaned_data["image"]
        try:
            return image_check(file=upload, size=upload.size)
        except ValidationError as error:
            raise ValidationError(error.message, code=error.code) from None
