// Satchel teacher console: live reports (SSE), screenshots revealed only on request, local
// times. Everything works without it except the live inbox and in-place reveal.
(function () {
  "use strict";
  // Times arrive as ISO 8601 (UTC); show them in the reader's own time.
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) el.textContent = when.toLocaleString();
    });
  }
  localTimes(document);

  // Reveal: the picture is fetched only when a member of staff asks (the server records it).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("reveal")) return;
    event.preventDefault();
    fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" })
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.blob(); })
      .then(function (blob) {
        var img = document.createElement("img");
        img.alt = "Screenshot";
        img.src = URL.createObjectURL(blob);
        form.replaceChildren(img);
      })
      .catch(function () { form.querySelector("button").disabled = true; });
  });

  // Choosing the school to look at comes back to the page it was chosen on.
  document.addEventListener("submit", function (event) {
    var back = event.target.querySelector && event.target.querySelector("input[name=back]");
    if (back) back.value = location.pathname + location.search;
  });

  // Forms that undo something (retiring a computer) ask first.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // A short, gentle chime for a new report.
  function chime() {
    try {
      var audio = new (window.AudioContext || window.webkitAudioContext)();
      var tone = audio.createOscillator();
      var gain = audio.createGain();
      tone.frequency.value = 660;
      gain.gain.setValueAtTime(0.2, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.6);
    } catch (e) { /* no sound: the row still appears */ }
  }

  // Puts the row of a new item (a report, an alert) at the top of its table, fetched once.
  function addRow(tbody, idPrefix, path, id) {
    if (!tbody || document.getElementById(idPrefix + id)) return;
    fetch(path + encodeURIComponent(id) + "/row", { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (!html) return;
        tbody.insertAdjacentHTML("afterbegin", html);
        var row = tbody.firstElementChild;
        row.classList.add("fresh");
        localTimes(row);
        var empty = document.querySelector(".empty");
        if (empty) empty.hidden = true;
        chime();
      });
  }

  // Live: each new report's row is fetched and put at the top of the inbox; the "pupils
  // asked for" list is fetched again when a request arrives.
  var table = document.querySelector("#reports tbody");
  var asks = document.getElementById("asks");
  var alerts = document.querySelector("#alerts tbody");
  if ((table || asks || alerts) && window.EventSource) {
    var source = new EventSource("/events");
    // Alerts (the DSL's and admins' streams only): each new one's row goes at the top.
    source.addEventListener("alert", function (event) { addRow(alerts, "alert-", "/alerts/", event.data); });
    source.addEventListener("unblock", function () {
      if (!asks) return;
      fetch("/asks", { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) {
          if (!html) return;
          asks.outerHTML = html;
          asks = document.getElementById("asks");
          localTimes(asks);
          chime();
        });
    });
    source.addEventListener("report", function (event) { addRow(table, "report-", "/reports/", event.data); });
  }

  // Room now: each computer's page, fetched again every few seconds while the page is open.
  var roomNow = document.getElementById("room-now");
  if (roomNow) {
    setInterval(function () {
      fetch(roomNow.getAttribute("data-refresh"), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) {
          if (!html) return;
          roomNow.innerHTML = html;
          localTimes(roomNow);
        });
    }, 5000);
  }
})();
