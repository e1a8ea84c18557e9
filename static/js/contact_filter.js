// Contact filter: ticking a group means "only these contact groups".
document.addEventListener("change", (event) => {
  const box = event.target.closest("[data-selects-scope]");
  if (!box || !box.checked) return;
  const scope = box.form.querySelector(`input[name=scope][value=${box.dataset.selectsScope}]`);
  if (scope) scope.checked = true;
});
