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

// Picking a product fills the row's description, price and tax rate from it (each option
// carries them as data-*); staff may still change any of them. "Free text" fills nothing.
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[name$='-product']");
  if (!select) return;
  const chosen = select.selectedOptions[0];
  if (!chosen || !chosen.value) return;
  const row = select.closest("tr");
  const fill = (suffix, value) => {
    const field = row.querySelector(`[name$='-${suffix}']`);
    if (field && value !== undefined) field.value = value;
  };
  fill("description", chosen.dataset.description);
  fill("unit_price", chosen.dataset.unitPrice);
  fill("tax_rate", chosen.dataset.taxRate);
  // The totals were asked for on the select's own change, before the fill: ask again.
  select.closest("form").dispatchEvent(new Event("lines-changed"));
});
