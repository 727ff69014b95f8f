// Dispatcher map, shared part: the namespace every dispatcher file adds to, the page's state, small helpers.
// Files by concern: draft.js (a new call), card.js (the selected call's panel), list.js (the open calls),
// units.js (recommended units, routes, dispatch), main.js (wiring, loaded last).
(function () {
  "use strict";
  const S = window.SIGAP;
  const canWrite = !!S.CONFIG.can_write;
  S.dispatcher = {
    canWrite,
    T: (k, f) => window.I18N.t(k, f),
    esc: S.esc,
    $: (id) => document.getElementById(id),
    km: (m) => (m === null || m === undefined ? "–" : m >= 1000 ? (m / 1000).toFixed(1) + " km" : Math.round(m) + " m"),
    callName: (inc) => inc.number || "#" + inc.id,
    // A call an operator may still change: open and not folded into another.
    changeable: (inc) => canWrite && S.OPEN.has(inc.status) && !inc.merged_into,
    state: {
      map: null, live: null, routeLayer: null, accuracyLayer: null,
      selectedId: null,  // the call shown in the panel
      draftMarker: null,
      draftAt: null,
      draftOpen: false,  // the new-call form is open, with a point (draftAt) or without one
      draftPlace: null,  // the place the point stands for, when it came from the village search
      draftAml: null,    // the raw AML SMS the point came from; the server parses and keeps it
      pickFor: null,     // an open call waiting for the next map click (or village) as its location
      editingId: null,   // the call whose details are being corrected in the panel
    },
  };
})();
