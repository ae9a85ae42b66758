// Satchel pupil pages: the little behaviour they need, and nothing else.
// Nothing from the network (Listen asks the kiosk itself), no storage, no timers. Every
// page works without this file.
(function () {
  "use strict";

  // Listen: the page's sentence, or a tile's name, spoken by the kiosk in the page's
  // language (satchel://pupil/say/...). The buttons show only when the kiosk has a voice
  // for it, and hide again if the words cannot be had or played: a button that does
  // nothing is worse than no button. One player for the page, so a new tap stops the words
  // before. WebKit's media player cannot read the kiosk's own scheme, so the words come as
  // a blob (kept, for the next tap).
  if (document.documentElement.getAttribute("data-listen") === "on") {
    var speakers = document.querySelectorAll("[data-say], [data-say-tile]");
    var voice = document.createElement("audio");
    voice.id = "voice";
    var silence = function () {
      speakers.forEach(function (button) {
        button.hidden = true;
      });
    };
    voice.addEventListener("error", silence);
    document.body.appendChild(voice);
    var heard = {};
    var play = function (source) {
      voice.setAttribute("data-words", source);
      voice.src = heard[source];
      var playing = voice.play();
      if (playing && typeof playing.catch === "function") playing.catch(function () {});
    };
    speakers.forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function (event) {
        event.preventDefault();
        var tile = button.getAttribute("data-say-tile");
        var source = tile === null
          ? "say/" + encodeURIComponent(button.getAttribute("data-say"))
          : "say/tile?url=" + encodeURIComponent(tile);
        if (heard[source]) return play(source);
        fetch(source).then(function (response) {
          if (!response.ok) throw new Error("no words");
          return response.blob();
        }).then(function (words) {
          heard[source] = URL.createObjectURL(words);
          play(source);
        }).catch(silence);
      });
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
