// The admin's periodic task form: show the chosen crontab in words under the field
// (django-celery-beat's inline script, as a file for the Content-Security-Policy).
"use strict";
(function () {
  const data = document.getElementById("readable-crontabs");
  const help = document.querySelector(".field-crontab .help");
  const select = document.getElementById("id_crontab");
  const hidden = document.querySelector(".field-crontab_translation");
  if (hidden) hidden.style.display = "none";
  if (!data || !help || !select) return;
  const readable = JSON.parse(data.textContent);
  const original = help.textContent;
  select.addEventListener("change", function () {
    const words = readable[select.value];
    help.textContent = original;
    if (words) {
      help.appendChild(document.createElement("br"));
      help.appendChild(document.createTextNode("Translation: " + words));
    }
  });
})();
