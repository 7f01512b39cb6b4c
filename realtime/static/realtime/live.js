// The live dashboard: one socket to /ws/dashboard/ on this page's host, no build step.
//
// Pages opt in with data attributes; with none on the page no socket is opened.
//   data-live="members"              a list: one <li data-user-id> per member (rebuilt in place)
//   data-live="member-count"         text: the number of members
//   data-live="notifications-count"  text: unread notifications
//   data-live="notifications-badge"  hidden while there are none (wraps the count)
//   data-live="notifications"        a list: the newest notifications (as many as the snapshot has)
//   data-live="plan-name"            text: the plan's name
//   data-live="plan-status"          text: the plan's status
//   data-live="toasts"               a container for short-lived event messages (made if absent)
//   data-live="status"               text: "live", "reconnecting..."
//   data-live="image"                an avatar or logo tile (images/_tile.html): data-image-kind,
//                                    -owner, -size; `image.ready` swaps its initials for the picture
// The server's messages are described in realtime/messages.py. The database is the truth:
// on connect, on a gap in a stream's sequence numbers and on reconnect the page applies a
// fresh snapshot; messages in between are applied by user id, so one applied twice is harmless.
(function () {
  "use strict";
  if (!document.querySelector("[data-live]") || !window.WebSocket) return;

  var CLOSE_FINAL = { 4401: "signed out", 4403: "no longer a member", 4404: "unknown organization" };
  var members = {};
  var order = [];
  var seq = { tenant: 0, user: 0 };
  var notes = [];
  var noteLimit = 5;  // realtime.selectors.RECENT_NOTIFICATIONS: what the dashboard lists
  var attempt = 0;
  var socket = null;

  function all(name) { return document.querySelectorAll('[data-live="' + name + '"]'); }
  function setText(name, value) { all(name).forEach(function (el) { el.textContent = String(value); }); }

  function toast(text) {
    var box = all("toasts")[0];
    if (!box) {
      box = document.createElement("div");
      box.setAttribute("data-live", "toasts");
      box.className = "toasts";
      // A polite live region: screen readers announce each toast as it is added, not the
      // whole stack again (role=status alone implies aria-atomic=true).
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      box.setAttribute("aria-atomic", "false");
      box.setAttribute("aria-relevant", "additions");
      document.body.appendChild(box);
    }
    var item = document.createElement("div");
    item.className = "toast";
    item.textContent = text;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 6000);
  }

  function renderMembers() {
    all("members").forEach(function (list) {
      var items = order.map(function (id) {
        var m = members[id];
        var li = document.createElement("li");
        li.setAttribute("data-user-id", String(m.user_id));
        var name = document.createElement("span");
        name.textContent = m.name;
        var role = document.createElement("span");
        role.className = "role role-" + m.role;
        role.textContent = m.role_label;
        li.append(name, " ", role);
        return li;
      });
      list.replaceChildren.apply(list, items);
    });
    setText("member-count", order.length);
  }

  function setUnread(count) {
    setText("notifications-count", count);
    all("notifications-badge").forEach(function (el) { el.hidden = count === 0; });
  }

  function ago(iso) {
    var seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    var steps = [[86400, "day"], [3600, "hour"], [60, "minute"]];
    for (var i = 0; i < steps.length; i += 1) {
      var n = Math.floor(seconds / steps[i][0]);
      if (n >= 1) return n + " " + steps[i][1] + (n === 1 ? "" : "s") + " ago";
    }
    return "just now";
  }

  function renderNotifications() {
    all("notifications").forEach(function (list) {
      var items = notes.map(function (note) {
        var li = document.createElement("li");
        li.setAttribute("data-notification-id", String(note.id));
        var title = document.createElement("span");
        if (note.url) {
          var link = document.createElement("a");
          link.href = note.url;
          link.textContent = note.title;
          title.append(link);
        } else {
          title.textContent = note.title;
        }
        var when = document.createElement("span");
        when.className = "muted";
        when.textContent = ago(note.created_at);
        li.append(title, " ", when);
        return li;
      });
      if (!items.length) {
        var empty = document.createElement("li");
        empty.className = "muted";
        empty.textContent = "No notifications.";
        items.push(empty);
      }
      list.replaceChildren.apply(list, items);
    });
  }

  function addNotification(note) {
    notes = [note].concat(notes.filter(function (other) { return other.id !== note.id; })).slice(0, noteLimit);
    renderNotifications();
  }

  function setPlan(plan) {
    setText("plan-name", plan.name);
    setText("plan-status", plan.status);
  }

  function showImage(message) {
    var selector = '[data-image-kind="' + message.kind + '"][data-image-owner="' + message.owner_id + '"]';
    all("image").forEach(function (tile) {
      if (!tile.matches(selector)) return;
      var size = tile.getAttribute("data-image-size");
      var src = message.thumbnails[size];
      if (!src) return;
      var img = document.createElement("img");
      img.src = src;
      if (message.thumbnails[String(size * 2)]) img.srcset = message.thumbnails[String(size * 2)] + " 2x";
      img.width = img.height = Number(size);
      img.alt = "";
      tile.replaceChildren(img);
    });
    document.querySelectorAll('[data-live="image-processing"]').forEach(function (note) {
      if (note.matches(selector)) note.remove();
    });
  }

  function applySnapshot(snapshot) {
    members = {};
    order = [];
    snapshot.members.forEach(function (m) { members[m.user_id] = m; order.push(m.user_id); });
    seq = { tenant: snapshot.seq.tenant, user: snapshot.seq.user };
    renderMembers();
    notes = snapshot.notifications || [];
    renderNotifications();
    setUnread(snapshot.notifications_unread);
    setPlan(snapshot.plan);
    document.dispatchEvent(new CustomEvent("live:snapshot", { detail: snapshot }));
  }

  function applyMembership(message) {
    var id = message.user_id;
    if (message.member) {
      if (!(id in members)) { order.push(id); }
      members[id] = message.member;
    } else if (id in members) {
      delete members[id];
      order = order.filter(function (other) { return other !== id; });
    }
    renderMembers();
    var who = message.member ? message.member.name : "A member";
    var text = { joined: who + " joined.", left: "A member left.", removed: "A member was removed.",
                 role_changed: who + " is now " + (message.member ? message.member.role_label : "") + "." };
    toast(text[message.change] || "Members changed.");
  }

  function handle(message) {
    if (message.type === "snapshot") { applySnapshot(message); return; }
    if (message.stream && message.seq) {
      if (message.seq <= seq[message.stream]) return;  // already in the snapshot
      if (message.seq !== seq[message.stream] + 1) { send({ type: "resync" }); return; }
      seq[message.stream] = message.seq;
    }
    switch (message.type) {
      case "membership.changed": applyMembership(message); break;
      case "notifications.count":
        if (message.notification) addNotification(message.notification);
        setUnread(message.unread);
        break;
      case "plan.changed": setPlan(message.plan); toast("Your plan is now " + message.plan.name + "."); break;
      case "job.progress": document.dispatchEvent(new CustomEvent("live:job", { detail: message })); break;
      case "job.done":
        document.dispatchEvent(new CustomEvent("live:job", { detail: message }));
        toast(message.ok ? "Your " + message.kind + " is ready." : "Your " + message.kind + " failed.");
        break;
      case "image.ready": showImage(message); break;
      case "session.closed": toast("You are no longer a member of this organization."); break;
      default: break;  // pong, error: nothing to show
    }
    document.dispatchEvent(new CustomEvent("live:message", { detail: message }));
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/dashboard/");
    socket.onopen = function () { attempt = 0; setText("status", "live"); };
    socket.onmessage = function (event) {
      try { handle(JSON.parse(event.data)); } catch (error) { send({ type: "resync" }); }
    };
    socket.onclose = function (event) {
      socket = null;
      if (CLOSE_FINAL[event.code]) { setText("status", CLOSE_FINAL[event.code]); return; }
      // Exponential backoff with full jitter, capped at 30 s: a restarted server is not
      // met by every page at the same instant.
      var delay = Math.random() * Math.min(30000, 500 * Math.pow(2, attempt));
      attempt += 1;
      setText("status", "reconnecting...");
      setTimeout(connect, delay);
    };
  }

  document.documentElement.setAttribute("data-live-ready", "");
  connect();
})();
