// The annotator's task page: keyboard shortcuts (`?` lists them), ranking by drag and drop, drafts kept in
// localStorage, long prompts folded, the flag dialog;
// and `data-confirm` on any form (the manager's irreversible buttons).
// Answers go to the server by presented position (A = shown first); the server maps them to the item's order.
(function () {
  "use strict";

  const DRAFT = "concord:draft:";
  const NOT_IN_DRAFT = new Set(["csrfmiddlewaretoken", "client_key", "time_on_task_ms"]);
  const shownAt = new WeakMap(); // form -> when this page showed it, for the time on task

  const taskForm = () => document.getElementById("task-form");
  const skipDialog = () => document.getElementById("skip-dialog");
  const PROMPT_FOLD_PX = 320; // a prompt taller than this is folded behind "Show the whole prompt"
  const keyGroups = (form) => [...form.querySelectorAll("fieldset[data-key-group]")];

  function isTyping(element) {
    if (element.closest("textarea, select, [contenteditable]")) return true;
    return element.tagName === "INPUT" && !["radio", "checkbox"].includes(element.type);
  }

  // --- drafts ---------------------------------------------------------------------------------------------------

  function draftSave(form) {
    const entries = [...new FormData(form)].filter(([name]) => !NOT_IN_DRAFT.has(name));
    localStorage.setItem(DRAFT + form.dataset.assignment, JSON.stringify(entries));
  }

  function draftRestore(form) {
    let entries;
    try {
      entries = JSON.parse(localStorage.getItem(DRAFT + form.dataset.assignment) || "[]");
    } catch {
      return;
    }
    for (const [name, value] of entries) {
      for (const input of form.querySelectorAll(`[name="${CSS.escape(name)}"]`)) {
        if (input.type === "radio" || input.type === "checkbox") input.checked = input.value === value;
        else input.value = value;
      }
    }
  }

  // --- choosing -------------------------------------------------------------------------------------------------

  function check(input) {
    input.checked = true;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function currentGroup(form) {
    const focused = document.activeElement?.closest?.("fieldset[data-key-group]");
    if (focused && form.contains(focused)) return focused;
    const groups = keyGroups(form);
    return groups.find((group) => !group.querySelector("input:checked")) || groups[0];
  }

  function focusGroup(group, { scroll = true } = {}) {
    group?.focus({ preventScroll: true });
    if (scroll) group?.scrollIntoView({ block: "nearest" });
  }

  // Pairwise: a strength implies the choice; a choice clears a strength that contradicts it.
  function syncPairwise(form, changed) {
    const strength = form.querySelector("input[name=strength]:checked");
    if (changed.name === "strength") {
      const value = Number(changed.value);
      check(form.querySelector(`input[name=choice][value=${value < 0 ? "left" : value > 0 ? "right" : "tie"}]`));
    } else if (changed.name === "choice" && strength) {
      const value = Number(strength.value);
      const agrees = { left: value < 0, right: value > 0, tie: value === 0 }[changed.value];
      if (!agrees) strength.checked = false;
    }
  }

  // --- ranking --------------------------------------------------------------------------------------------------

  function rankOf(group) {
    const checked = group.querySelector("input:checked");
    return checked ? Number(checked.value) : null;
  }

  function rankSet(form, index, place) {
    const group = form.querySelector(`fieldset[data-rank][data-index="${index}"]`);
    if (place === null) {
      group.querySelectorAll("input").forEach((input) => { input.checked = false; });
      group.dispatchEvent(new Event("change", { bubbles: true }));
    } else {
      check(group.querySelector(`input[value="${place}"]`));
    }
  }

  function chip(group) {
    const element = document.createElement("span");
    element.className = "chip";
    element.tabIndex = 0;
    element.draggable = true;
    element.dataset.index = group.dataset.index;
    element.textContent = group.dataset.label;
    element.setAttribute("role", "button");
    element.setAttribute("aria-label", `Response ${group.dataset.label}, place ${rankOf(group) ?? "not set"}`);
    return element;
  }

  function orderRender(form) {
    const panel = form.querySelector("[data-rank-order]");
    if (!panel) return;
    const focusedIndex = document.activeElement?.classList.contains("chip") ? document.activeElement.dataset.index : null;
    const count = Number(form.dataset.responses);
    const list = document.createElement("ol");
    list.className = "tiers";
    const unplaced = document.createElement("div");
    unplaced.className = "tier unplaced";
    unplaced.dataset.place = "";
    unplaced.innerHTML = '<span class="place">Not placed</span>';
    const tiers = [];
    for (let place = 1; place <= count; place++) {
      const tier = document.createElement("li");
      tier.className = "tier";
      tier.dataset.place = String(place);
      tier.innerHTML = `<span class="place">${place}</span>`;
      tiers.push(tier);
      list.append(tier);
    }
    form.querySelectorAll("fieldset[data-rank]").forEach((group) => {
      const place = rankOf(group);
      (place ? tiers[place - 1] : unplaced).append(chip(group));
    });
    panel.replaceChildren(list, ...(unplaced.querySelector(".chip") ? [unplaced] : []));
    if (focusedIndex !== null) panel.querySelector(`.chip[data-index="${focusedIndex}"]`)?.focus();
  }

  function rankMove(form, index, step) {
    const group = form.querySelector(`fieldset[data-rank][data-index="${index}"]`);
    const count = Number(form.dataset.responses);
    const place = rankOf(group);
    const next = place === null ? (step < 0 ? 1 : count) : Math.min(count, Math.max(1, place + step));
    rankSet(form, index, next);
  }

  // --- the keyboard ---------------------------------------------------------------------------------------------

  function onSkipDialogKey(event, dialog) {
    const reason = dialog.querySelectorAll("input[name=reason]")[Number(event.key) - 1];
    if (reason) {
      event.preventDefault();
      reason.checked = true;
      reason.focus();
    } else if (event.key === "Enter" && !event.target.closest("button")) {
      event.preventDefault();
      dialog.querySelector("form").requestSubmit();
    }
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.closest("#task-form")) {
      event.preventDefault(); // submits from the rationale box too
      return taskForm().requestSubmit();
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const dialog = skipDialog();
    if (dialog?.open) return onSkipDialogKey(event, dialog);
    if (document.querySelector("dialog[open]")) return; // another dialog has the keyboard (Esc closes it)
    const form = taskForm();
    if (!form || isTyping(event.target)) return;
    const key = event.key;
    const protocol = form.dataset.protocol;

    if (key === "Enter") {
      if (event.target.closest("button, a, summary")) return; // their own action
      event.preventDefault();
      form.requestSubmit();
    } else if (key === "s" || key === "S") {
      event.preventDefault();
      dialog.showModal();
    } else if (key === "f" || key === "F") {
      event.preventDefault();
      document.getElementById("flag-dialog")?.showModal();
    } else if (key === "?") {
      event.preventDefault();
      document.getElementById("shortcuts-dialog")?.showModal();
    } else if (protocol === "pairwise" && /^[0-9]$/.test(key)) {
      const input = form.querySelector(`input[name=choice][data-key="${key}"], input[name=strength][data-key="${key}"]`);
      if (!input) return;
      event.preventDefault();
      check(input);
    } else if ((key === "u" || key === "U") && protocol === "attributes") {
      const unsafe = currentGroup(form).closest(".response").querySelector("input[name^=unsafe_]");
      unsafe.checked = !unsafe.checked;
      unsafe.dispatchEvent(new Event("change", { bubbles: true }));
    } else if (/^[0-9]$/.test(key) && protocol !== "pairwise") {
      const group = currentGroup(form);
      const input = group?.querySelector(`input[type=radio][value="${key}"]`);
      if (!input) return;
      event.preventDefault();
      check(input);
      const groups = keyGroups(form);
      focusGroup(groups[groups.indexOf(group) + 1] || group);
    } else if ((key === "ArrowUp" || key === "ArrowDown") && protocol === "ranking") {
      const holder = event.target.closest(".chip, fieldset[data-rank]");
      if (!holder) return;
      event.preventDefault();
      rankMove(form, holder.dataset.index, key === "ArrowUp" ? -1 : 1);
    }
  });

  // --- events on the (swapped) task -----------------------------------------------------------------------------

  document.addEventListener("change", (event) => {
    const form = event.target.closest("#task-form");
    if (!form) return;
    if (form.dataset.protocol === "pairwise") syncPairwise(form, event.target);
    if (event.target.closest("fieldset[data-rank]")) orderRender(form);
    if (event.target.closest("fieldset[data-hints]")) hintShow(event.target.closest("label"));
    draftSave(form);
  });
  document.addEventListener("input", (event) => {
    const form = event.target.closest("#task-form");
    if (form && event.target.tagName === "TEXTAREA") draftSave(form);
  });

  // The time on task goes in before htmx reads the form (capture runs first).
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    if (form.id !== "task-form" || !shownAt.has(form)) return;
    // counted from when the task was first shown (the server's lease), so a reload does not restart it
    const elapsed = Number(form.dataset.elapsedMs || 0) + performance.now() - shownAt.get(form);
    form.elements.time_on_task_ms.value = String(Math.max(1, Math.round(elapsed)));
  }, true);

  function hintShow(label) {
    const hint = label?.closest("fieldset")?.querySelector(".hint");
    if (hint) hint.textContent = label.title;
  }
  document.addEventListener("mouseover", (event) => {
    const label = event.target.closest?.("fieldset[data-hints] label");
    if (label) hintShow(label);
  });

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-skip-open]")) skipDialog()?.showModal();
    if (event.target.closest("[data-skip-close]")) skipDialog()?.close();
    if (event.target.closest("[data-flag-open]")) document.getElementById("flag-dialog")?.showModal();
    if (event.target.closest("[data-dialog-close]")) event.target.closest("dialog").close();
    const more = event.target.closest("[data-fold-toggle]");
    if (more) {
      const folded = document.getElementById(more.getAttribute("aria-controls")).classList.toggle("collapsed");
      more.setAttribute("aria-expanded", String(!folded));
      more.textContent = folded ? "Show the whole prompt" : "Show less";
    }
  });

  // The flag is sent: the dialog closes and the task carries on where it was.
  document.addEventListener("htmx:afterRequest", (event) => {
    const dialog = event.target.closest?.("#flag-dialog");
    if (!dialog || !event.detail.successful || event.detail.xhr.getResponseHeader("HX-Retarget")) return;
    dialog.querySelector("form").reset();
    dialog.querySelector("#flag-error").textContent = "";
    dialog.close();
  });

  function promptFold(form) {
    const prompt = form.querySelector("[data-collapsible]");
    if (!prompt || prompt.scrollHeight <= PROMPT_FOLD_PX) return;
    prompt.id = "task-prompt";
    prompt.classList.add("collapsed");
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "secondary more";
    toggle.dataset.foldToggle = "";
    toggle.setAttribute("aria-controls", prompt.id);
    toggle.setAttribute("aria-expanded", "false");
    toggle.textContent = "Show the whole prompt";
    prompt.after(toggle);
  }

  let dragged = null;
  document.addEventListener("dragstart", (event) => {
    const item = event.target.closest?.(".chip");
    if (!item) return;
    dragged = item.dataset.index;
    event.dataTransfer.setData("text/plain", dragged);
    event.dataTransfer.effectAllowed = "move";
  });
  document.addEventListener("dragover", (event) => {
    if (dragged !== null && event.target.closest?.(".tier")) event.preventDefault();
  });
  document.addEventListener("drop", (event) => {
    const tier = event.target.closest?.(".tier");
    const form = taskForm();
    if (dragged === null || !tier || !form) return;
    event.preventDefault();
    rankSet(form, dragged, tier.dataset.place ? Number(tier.dataset.place) : null);
    dragged = null;
  });
  document.addEventListener("dragend", () => { dragged = null; });

  // Once per task panel, on the first page load and after every swap (htmx may hand us a text node as root).
  htmx.onLoad(() => {
    const task = document.getElementById("task");
    if (!task || task.dataset.ready) return;
    task.dataset.ready = "true";
    if (task.dataset.finished) localStorage.removeItem(DRAFT + task.dataset.finished);
    const form = task.querySelector("#task-form");
    if (!form) return;
    shownAt.set(form, performance.now());
    draftRestore(form);
    orderRender(form);
    promptFold(form);
    if (window.concordFocusFirstError?.(form)) return; // page.js: after a refused submit, the first error has focus
    const groups = keyGroups(form);
    // Ready for the keyboard, without scrolling the prompt out of view.
    focusGroup(groups.find((group) => !group.querySelector("input:checked")), { scroll: false });
  });
})();
