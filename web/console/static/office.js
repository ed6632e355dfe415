// Photos on the office pages: a thumbnail opens the original in an overlay (no rule lives here).
document.addEventListener("click", function (event) {
  const zoom = event.target.closest("a.zoom");
  const box = document.getElementById("lightbox");
  if (zoom && box) {
    event.preventDefault();
    box.querySelector("img").src = zoom.dataset.full;
    box.hidden = false;
    return;
  }
  if (box && !box.hidden && (event.target === box || event.target.closest("#lightbox .close"))) {
    box.hidden = true;
    box.querySelector("img").removeAttribute("src");
  }
});
