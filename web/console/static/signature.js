// The officer's signature page: draw on the pad (signature_pad, vendored), sent as a PNG data URL with the
// form; an uploaded PNG goes as it is. The server judges either by its content (no rule lives here).
(function () {
  const canvas = document.getElementById("signature-canvas");
  if (!canvas || typeof SignaturePad === "undefined") return;
  const ratio = Math.max(window.devicePixelRatio || 1, 1);
  canvas.width = canvas.offsetWidth * ratio;
  canvas.height = canvas.offsetHeight * ratio;
  canvas.getContext("2d").scale(ratio, ratio);
  const pad = new SignaturePad(canvas, { penColor: "#10213f", minWidth: 1, maxWidth: 2.6 });
  document.getElementById("signature-clear").addEventListener("click", function () { pad.clear(); });
  document.addEventListener("submit", function (event) {
    if (event.target.id !== "signature-form") return;
    document.getElementById("signature-drawn").value = pad.isEmpty() ? "" : pad.toDataURL("image/png");
  }, true);
})();
