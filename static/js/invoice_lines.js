// Invoice form: add and remove line rows in place. Rows are Django formset forms; a removed
// row is hidden with its DELETE box ticked (so the form indices stay as Django numbered them),
// and the form fires "lines-changed" so htmx refreshes the totals.
document.addEventListener("click", (event) => {
  const add = event.target.closest("[data-line-add]");
  const remove = event.target.closest("[data-line-remove]");
  if (!add && !remove) return;
  const form = event.target.closest("form");
  if (add) {
    const total = form.querySelector("input[name='lines-TOTAL_FORMS']");
    const index = Number(total.value);
    const html = form.querySelector("#line-template").innerHTML.replaceAll("__prefix__", index);
    const body = form.querySelector("#lines tbody");
    body.insertAdjacentHTML("beforeend", html);
    total.value = index + 1;
    body.lastElementChild.querySelector("textarea, input:not([type=hidden])").focus();
  } else {
    const row = remove.closest("tr");
    row.querySelector("input[name$='-DELETE']").checked = true;
    row.hidden = true;
    form.querySelector("[data-line-add]").focus();
  }
  form.dispatchEvent(new Event("lines-changed"));
});
