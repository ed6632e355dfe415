// The console's own script: small page behaviour only; every rule is on the server.
// htmx is configured by the <meta name="htmx-config"> of base.html (refusals are swapped in, no history cache).
document.addEventListener("click", function (event) {
  const close = event.target.closest(".flash .close");
  if (close) close.parentElement.remove();
});
