/* Portal behaviour: served locally, no inline scripts (the pages work without it too). */
"use strict";

/* A button with data-copy="#id" copies that field's value and says so. */
function portalCopy(button) {
  const field = document.querySelector(button.dataset.copy);
  const status = document.querySelector("[data-copy-status]");
  const say = (text) => { if (status) status.textContent = text; };
  if (!field) return;
  field.select();
  const done = () => say("Copied to the clipboard.");
  const manual = () => say("Select the text and copy it with Ctrl+C (⌘C on a Mac).");
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, manual);
  } else {
    try { document.execCommand("copy") ? done() : manual(); } catch (e) { manual(); }
  }
}

/* The public-key field of the credential form matters only for the key kind. */
function portalKindToggle() {
  const jwk = document.getElementById("id_public_jwk");
  const radios = document.querySelectorAll("input[name=kind]");
  if (!jwk || !radios.length) return;
  const group = jwk.closest(".field");
  const sync = () => {
    const checked = document.querySelector("input[name=kind]:checked");
    group.hidden = !(checked && checked.value === "public_key") && !group.classList.contains("has-error");
  };
  radios.forEach((r) => r.addEventListener("change", sync));
  sync();
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (button) portalCopy(button);
});
document.addEventListener("DOMContentLoaded", portalKindToggle);
