// The console's own script: small page behaviour only; every rule is on the server.
// htmx is configured by the <meta name="htmx-config"> of base.html (refusals are swapped in, no history cache).
document.addEventListener("click", function (event) {
  const close = event.target.closest(".flash .close");
  if (close) close.parentElement.remove();
});

// A registry file goes up as the raw body (its bytes decide its format on the server), with an upload bar.
document.addEventListener("submit", function (event) {
  const form = event.target.closest("form[data-upload]");
  if (!form) return;
  event.preventDefault();
  const file = form.querySelector("input[type=file]").files[0];
  if (!file) return;
  const box = document.getElementById("upload-progress");
  const bar = box && box.querySelector("progress");
  const xhr = new XMLHttpRequest();
  xhr.open("POST", form.dataset.upload);
  xhr.setRequestHeader("X-CSRF-Token", JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"]);
  xhr.setRequestHeader("HX-Request", "true");
  xhr.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
  xhr.setRequestHeader("Content-Type", "application/octet-stream");
  if (box) box.hidden = false;
  xhr.upload.onprogress = function (e) { if (bar && e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total); };
  xhr.onload = function () {
    const to = xhr.getResponseHeader("HX-Redirect");
    if (to) { window.location.href = to; return; }
    if (box) box.hidden = true;
    document.getElementById("flash").innerHTML = xhr.responseText;
  };
  xhr.send(file);
});
