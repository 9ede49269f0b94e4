// Small progressive enhancements; every form still works without JavaScript.

// <select data-autosubmit> submits its form when a choice is made with the mouse. With the
// keyboard, arrow keys (and typing a letter) only move the choice and Enter submits it, so a
// keyboard user can walk past options without leaving the page (WCAG 3.2.2 "On Input").
const keyedSelects = new WeakSet();
const isAutosubmit = (el) =>
  el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form;

document.addEventListener("keydown", (event) => {
  const el = event.target;
  if (!isAutosubmit(el) || event.altKey || event.ctrlKey || event.metaKey) {
    return;
  }
  if (event.key === "Enter") {
    event.preventDefault();
    keyedSelects.delete(el);
    el.form.requestSubmit();
  } else if (event.key !== "Tab" && event.key !== "Escape") {
    keyedSelects.add(el);
  }
});
document.addEventListener("pointerdown", (event) => {
  if (isAutosubmit(event.target)) {
    keyedSelects.delete(event.target);
  }
});
document.addEventListener("change", (event) => {
  const el = event.target;
  if (!isAutosubmit(el)) {
    return;
  }
  if (keyedSelects.has(el)) {
    return; // chosen with the keyboard: wait for Enter
  }
  el.form.requestSubmit();
});

// Confirm destructive actions: <button data-confirm="Cancel this communication?">
document.addEventListener("click", (event) => {
  const el = event.target.closest("[data-confirm]");
  if (el && !window.confirm(el.getAttribute("data-confirm"))) {
    event.preventDefault();
    event.stopPropagation();
  }
}, true);
