// Satchel pupil pages: the little behaviour they need, and nothing else.
// No network, no storage, no timers. Every page works without this file except the
// toolbar, whose buttons talk to the kiosk through wry's IPC channel.
(function () {
  "use strict";

  // Toolbar: <button data-action="home|back|tell"> posts {"action": "..."} to the kiosk.
  // Only the toolbar view is given window.ipc; in any other view the buttons do nothing.
  function post(action, extra) {
    if (window.ipc && typeof window.ipc.postMessage === "function") {
      var message = extra || {};
      message.action = action;
      window.ipc.postMessage(JSON.stringify(message));
    }
  }
  document.querySelectorAll("[data-action]").forEach(function (el) {
    el.addEventListener("click", function () {
      post(el.getAttribute("data-action"));
    });
  });

  // Toolbar badge: the kiosk calls window.satchel.setWaiting(n) (evaluate_script) with the
  // number of reports still in the outbox; 0 hides the badge.
  window.satchel = window.satchel || {};
  window.satchel.setWaiting = function (n) {
    var badge = document.getElementById("waiting");
    var count = document.getElementById("waiting-count");
    if (!badge || !count) return;
    n = Math.max(0, Math.floor(Number(n) || 0));
    count.textContent = String(n);
    badge.hidden = n === 0;
  };

  // Exit prompt (toolbar view only): the teacher's PIN goes to the kiosk, which checks it.
  var exitForm = document.querySelector("form[data-exit]");
  if (exitForm) {
    exitForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var pin = exitForm.elements.pin;
      post("exit", { pin: pin.value });
      pin.value = "";
    });
  }
  window.satchel.wrongPin = function () {
    var wrong = document.getElementById("wrong-pin");
    if (wrong) wrong.hidden = false;
  };

  // Listen: reads the page's one sentence aloud. The button stays hidden unless the
  // machine has a voice for the page's language: a button that does nothing, or reads
  // Welsh with an English voice, is worse than no button.
  var listen = document.querySelector("[data-listen]");
  var sentence = document.querySelector(".sentence");
  if (listen && sentence && "speechSynthesis" in window && "SpeechSynthesisUtterance" in window) {
    var lang = (document.documentElement.lang || "").toLowerCase();
    var primary = lang.split("-")[0];
    var pickVoice = function () {
      var exact = null;
      var near = null;
      window.speechSynthesis.getVoices().forEach(function (voice) {
        var tag = String(voice.lang || "").toLowerCase().replace(/_/g, "-");
        if (tag === lang) exact = exact || voice;
        else if (tag.split("-")[0] === primary) near = near || voice;
      });
      return exact || near;
    };
    var update = function () {
      listen.hidden = !pickVoice();
    };
    update();
    if (typeof window.speechSynthesis.addEventListener === "function") {
      window.speechSynthesis.addEventListener("voiceschanged", update);
    }
    listen.addEventListener("click", function () {
      var voice = pickVoice();
      if (!voice) return;
      window.speechSynthesis.cancel();
      var utterance = new SpeechSynthesisUtterance(sentence.textContent.trim());
      utterance.voice = voice;
      utterance.lang = voice.lang;
      utterance.rate = 0.85;
      window.speechSynthesis.speak(utterance);
    });
  }

  // Thanks page: show at once which feeling was picked, whatever the kiosk does next.
  var feelings = document.querySelectorAll(".feeling");
  feelings.forEach(function (link) {
    link.addEventListener("click", function () {
      feelings.forEach(function (other) {
        other.removeAttribute("aria-current");
      });
      link.setAttribute("aria-current", "true");
    });
  });

  // Home: a tapped tile shows at once that its site is on the way (a pupil taps again and
  // again otherwise), and further taps wait for it. The site is opened only once the sign
  // is on screen: WebKit stops painting a page that is navigating away, so a sign drawn
  // after the navigation starts would never show. The next page replaces this one, whether
  // the site, the block page or the offline page; coming back to Home from history shows
  // the tiles as they were.
  var tiles = document.querySelectorAll("#tiles .tile");
  tiles.forEach(function (tile) {
    tile.addEventListener("click", function (event) {
      event.preventDefault();
      if (document.querySelector("#tiles .tile.opening")) return;
      tile.classList.add("opening");
      tile.setAttribute("aria-busy", "true");
      // Two frames on, the sign has been painted.
      window.requestAnimationFrame(function () {
        window.requestAnimationFrame(function () {
          window.location.href = tile.href;
        });
      });
    });
  });
  window.addEventListener("pageshow", function () {
    tiles.forEach(function (tile) {
      tile.classList.remove("opening");
      tile.removeAttribute("aria-busy");
    });
  });
})();
