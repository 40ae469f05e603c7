// Small behaviours htmx does not cover: refusing an oversized file before it is uploaded,
// keeping Enter in the recipient search from sending, and copying the cURL command.
"use strict";

document.addEventListener("htmx:configRequest", (event) => {
  const input = event.detail.elt;
  if (!(input instanceof HTMLInputElement) || input.type !== "file" || !input.files.length) {
    return;
  }
  const box = input.closest("[data-max-bytes]");
  const limit = Number(box && box.dataset.maxBytes);
  const file = input.files[0];
  if (limit && file.size > limit) {
    event.preventDefault();
    const error = box.querySelector(".upload-error");
    const size = file.size.toLocaleString("en-US");
    error.textContent = `The file is ${size} bytes; DLG accepts files up to ${limit.toLocaleString("en-US")} bytes (5 MB).`;
    input.value = "";
  }
});

// Enter in the recipient search means "search", not "send the message".
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && event.target.id === "id_recipient_search") {
    event.preventDefault();
    event.target.dispatchEvent(new Event("search"));
  }
});

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) {
    return;
  }
  const source = document.querySelector(button.dataset.copy);
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent).then(() => {
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy as cURL"; }, 1500);
    });
  }
});
