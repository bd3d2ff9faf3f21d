/* raftlab timeline: the interactive view of one run's trace.
 * Vanilla JavaScript, no library, no network. The data is the JSON in
 * #raftlab-data (written by grader/timeline.py, whose docstring is the manual).
 * window.raftlabTimeline = {ready, lanes, events, arrows, failure, errors}. */
(function () {
  'use strict';
  var RT = {ready: false, lanes: 0, events: 0, arrows: 0, failure: null, errors: []};
  window.raftlabTimeline = RT;

  function noteError(err) {
    RT.errors.push(String(err && err.message ? err.message : err));
  }
  function guard(fn) {
    return function () {
      try {
        return fn.apply(this, arguments);
      } catch (err) {
        noteError(err);
        throw err;
      }
    };
  }

  try {
    init();
  } catch (err) {
    noteError(err);
    throw err;
  }

  function init() {
    /* ------------------------------------------------------------ data */
    var D = JSON.parse(document.getElementById('raftlab-data').textContent);
    var META = D.meta || {};
    var STR = D.strings || [];
    var KINDS = D.kinds || [];
    var N = D.n | 0;
    var T = new Float64Array(N), K = new Uint16Array(N), SV = new Int32Array(N);
    var INC = new Int32Array(N), ROW = new Int32Array(N);
    var rows = new Int32Array(KINDS.length + 1);
    var acc = 0, scale = D.tscale || 0, n, j;
    for (n = 0; n < N; n++) {
      if (scale) { acc += D.t[n]; T[n] = acc / scale; } else { T[n] = +D.t[n] || 0; }
      K[n] = D.k[n];
      SV[n] = D.s[n];
      INC[n] = D.i[n];
      ROW[n] = rows[D.k[n]]++;
    }
    var COL = {};
    var SCHEMA = D.schema || {};
    Object.keys(D.cols || {}).forEach(function (kind) {
      var src = D.cols[kind], out = {};
      (SCHEMA[kind] || []).forEach(function (f) {
        var name = f[0], typ = f[1], col = src[name] || [], dst = new Array(col.length);
        var prev = 0;
        for (var r = 0; r < col.length; r++) {
          var v = col[r];
          if (v === null || v === undefined) { dst[r] = undefined; continue; }
          if (typ === 'd') { prev += v; v = prev; }
          else if (typ === 's') { v = STR[v]; }
          else if (typ === 'b') { v = !!v; }
          else if (typ === 'j') { try { v = JSON.parse(STR[v]); } catch (e1) { v = STR[v]; } }
          dst[r] = v;
        }
        out[name] = dst;
      });
      COL[kind] = out;
    });
    var XIDX = new Map(), XCACHE = new Map();
    (D.x || []).forEach(function (p) { XIDX.set(p[0], p[1]); });
    function extra(e) {
      var s = XIDX.get(e);
      if (s === undefined) { return null; }
      var o = XCACHE.get(e);
      if (!o) {
        try { o = JSON.parse(STR[s]); } catch (e2) { o = {}; }
        if (!o || typeof o !== 'object') { o = {}; }
        XCACHE.set(e, o);
      }
      return o;
    }
    function F(e, name) {
      var x = extra(e);
      if (x && Object.prototype.hasOwnProperty.call(x, name)) { return x[name]; }
      var c = COL[KINDS[K[e]]];
      if (!c || !c[name]) { return undefined; }
      return c[name][ROW[e]];
    }
    function num(v) { return typeof v === 'number' && isFinite(v); }
    function rawFields(e) {
      var o = {}, c = COL[KINDS[K[e]]], x = extra(e), key;
      if (c) {
        for (key in c) {
          if (c[key][ROW[e]] !== undefined) { o[key] = c[key][ROW[e]]; }
        }
      }
      if (x) {
        for (key in x) {
          if (key !== '!absent') { o[key] = x[key]; }
        }
      }
      return o;
    }

    var TMIN = N ? T[0] : 0;
    var TMAX = N ? T[N - 1] : 1;
    if (num(META.sim_time) && META.sim_time > TMAX) { TMAX = META.sim_time; }
    if (!(TMAX > TMIN)) { TMAX = TMIN + 1; }
    var NS = Math.max(0, Math.min(1000, META._servers | 0));
    for (n = 0; n < N; n++) {
      if (SV[n] >= NS && SV[n] < 1000) { NS = SV[n] + 1; }
    }
    var FAILED = !!META._failed;
    var FAIL_MSG = FAILED ? String(META._failure || 'the run failed') : null;
    var FAIL_T = FAILED && num(META._failure_t) ? META._failure_t : (FAILED ? TMAX : null);

    /* ------------------------------------------------------------ model */
    var LATE = 0.1;   // seconds: a leg slower than this is "late"
    var R_UNKNOWN = 0, R_FOLLOWER = 1, R_CANDIDATE = 2, R_PRE = 3, R_LEADER = 4, R_OTHER = 5,
      R_INFERRED = 6, R_NOTLEADER = 7;  // the last: get_state() says not leader, no inspect
    var ROLE_COLOR = ['#cfd5dc', '#9fb6cf', '#f29b2e', '#f6d38f', '#2ca25f', '#b39ddb', '#2ca25f',
      '#9fb6cf'];
    var ROLE_NAME = ['unknown', 'follower', 'candidate', 'pre-candidate', 'leader', 'other',
      'leader (inferred)', 'follower or candidate'];
    var TERM_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948',
      '#b07aa1', '#ff9da7', '#9c755f', '#8cd17d', '#86bcb6', '#d37295'];
    function termColor(t) { return t > 0 ? TERM_COLORS[(t - 1) % TERM_COLORS.length] : '#c8c8c8'; }
    var MCOLOR = {rv: '#e07b00', ae: '#1f6fd1', hb: '#8db3e2', is: '#8e44ad', other: '#56606b'};
    var LOST_COLOR = '#e0201b', DEAD_COLOR = '#333333', LATE_COLOR = '#d000c0', CUT_COLOR = '#e07a7a';

    function roleCode(s) {
      if (typeof s !== 'string') { return R_OTHER; }
      var r = s.toLowerCase().replace(/[^a-z]/g, '');
      if (r === 'leader') { return R_LEADER; }
      if (r === 'follower') { return R_FOLLOWER; }
      if (r === 'candidate') { return R_CANDIDATE; }
      if (r === 'precandidate') { return R_PRE; }
      return R_OTHER;
    }
    function series() { return {t: [], v: [], e: []}; }
    function pushSeries(sr, e, v) { sr.t.push(T[e]); sr.v.push(v); sr.e.push(e); }

    var lanes = [];
    for (var s0 = 0; s0 < NS; s0++) {
      lanes.push({
        s: s0, seen: false, lives: [], disc: [], cuts: [], roles: [], terms: [],
        apply: [], snap: [], logLo: [], logHi: [], mon: [], starts: [], crashes: [], fails: [],
        other: [], all: [], insp: [], aeSends: [], hasStatus: false, inferred: false,
        applied: series(), commit: series(), loglen: series(),
        life: null, seg: null, dis: null, cut: null, role: R_UNKNOWN, term: -1, lastTerm: -1,
        y: 0, yc: 0
      });
    }
    var tester = {checks: [], nets: [], fails: [], other: [], all: []};
    var netRows = [], netByName = {};
    var blocked = [];
    for (j = 0; j < NS; j++) { blocked.push(new Uint8Array(NS)); }
    var METHODS = [], MIDX = new Map(), MCLS = [], MCOUNT = [];
    var R = {from: [], to: [], m: [], eS: [], eD: [], eE: [], end: [], hb: []};
    var byCall = new Map();
    var orphans = 0;
    var maxIndex = 1;

    function methodIndex(name) {
      var key = typeof name === 'string' ? name : String(name);
      var i = MIDX.get(key);
      if (i === undefined) {
        i = METHODS.length;
        MIDX.set(key, i);
        METHODS.push(key);
        MCOUNT.push(0);
        var l = key.toLowerCase();
        MCLS.push(l.indexOf('vote') >= 0 ? 'rv' : l.indexOf('snapshot') >= 0 ? 'is'
          : (l.indexOf('append') >= 0 || l.indexOf('heartbeat') >= 0) ? 'ae' : 'other');
      }
      return i;
    }
    function openLife(L, e, inc, t) { L.life = {e0: e, t0: t, e1: N, t1: TMAX, inc: inc}; }
    function closeLife(L, e) {
      if (L.life) { L.life.e1 = e; L.life.t1 = T[e]; L.lives.push(L.life); L.life = null; }
    }
    function closeSeg(L, e) {
      if (L.seg) { L.seg.e1 = e; L.seg.t1 = T[e]; L.roles.push(L.seg); L.seg = null; }
    }
    function setRole(L, e, role, term, name) {
      if (L.seg && L.seg.role === role && L.seg.term === term && L.seg.name === name) { return; }
      closeSeg(L, e);
      L.seg = {e0: e, t0: T[e], e1: N, t1: TMAX, role: role, term: term, name: name};
      L.role = role;
      L.term = term;
      if (term >= 0 && term !== L.lastTerm) {
        L.terms.push({e: e, t: T[e], term: term});
        L.lastTerm = term;
      }
    }
    function refreshCut(x, e) {
      var L = lanes[x], out = [], inn = [], y;
      for (y = 0; y < NS; y++) {
        if (blocked[x][y]) { out.push(y); }
        if (blocked[y][x]) { inn.push(y); }
      }
      var cur = L.cut;
      if (cur && cur.t0 === T[e]) {
        if (out.length || inn.length) { cur.out = out; cur.inn = inn; } else { L.cut = null; }
        return;
      }
      if (cur) { cur.e1 = e; cur.t1 = T[e]; L.cuts.push(cur); L.cut = null; }
      if (out.length || inn.length) {
        L.cut = {e0: e, t0: T[e], e1: N, t1: TMAX, out: out, inn: inn};
      }
    }
    function netRow(name) {
      var row = netByName[name];
      if (!row) {
        row = netByName[name] = {name: name, segs: [], open: null,
          label: name === 'reliable' ? 'unreliable' : name.replace(/_/g, ' ')};
        netRows.push(row);
      }
      return row;
    }
    function laneOf(x) { return num(x) && x >= 0 && x < NS ? lanes[x] : null; }

    for (var e = 0; e < N; e++) {
      var kind = KINDS[K[e]], s = SV[e], t = T[e];
      var L = s >= 0 && s < NS ? lanes[s] : null;
      var v, r, call;
      if (L) {
        L.all.push(e);
        if (!L.seen) {
          L.seen = true;
          if (kind !== 'start') { openLife(L, 0, INC[e], TMIN); }  // alive since before the trace
        }
      } else {
        tester.all.push(e);
      }
      switch (kind) {
        case 'start':
          if (!L) { tester.other.push(e); break; }
          closeLife(L, e);
          if (L.lives.length) { pushSeries(L.applied, e, 0); }
          openLife(L, e, INC[e], t);
          L.starts.push(e);
          if (L.hasStatus) { setRole(L, e, L.insp.length ? R_FOLLOWER : R_NOTLEADER, L.term, undefined); }
          break;
        case 'crash':
          if (!L) { tester.other.push(e); break; }
          closeLife(L, e);
          closeSeg(L, e);
          L.crashes.push(e);
          break;
        case 'disconnect':
          if (!L) { tester.other.push(e); break; }
          if (!L.dis) { L.dis = {e0: e, t0: t, e1: N, t1: TMAX}; }
          break;
        case 'connect':
          if (!L) { tester.other.push(e); break; }
          if (L.dis) { L.dis.e1 = e; L.dis.t1 = t; L.disc.push(L.dis); L.dis = null; }
          break;
        case 'link':
          v = F(e, 'to');
          if (!L || !laneOf(v)) { (L || tester).other.push(e); break; }
          blocked[s][v] = F(e, 'blocked') ? 1 : 0;
          refreshCut(s, e);
          if (v !== s) { refreshCut(v, e); }
          break;
        case 'send':
          v = F(e, 'to');
          call = F(e, 'call');
          if (!L || !laneOf(v)) { (L || tester).other.push(e); break; }
          r = R.from.length;
          var mi = methodIndex(F(e, 'method'));
          MCOUNT[mi]++;
          R.from.push(s); R.to.push(v); R.m.push(mi); R.eS.push(e); R.eD.push(-1);
          R.eE.push(-1); R.end.push(0);
          var data = F(e, 'data');
          R.hb.push(MCLS[mi] === 'ae' && typeof data === 'string' && /entries=\[\]/.test(data) ? 1 : 0);
          if (call !== undefined) { byCall.set(call, r); }
          if (MCLS[mi] === 'ae') { L.aeSends.push(e); }
          break;
        case 'deliver':
          r = byCall.get(F(e, 'call'));
          if (r === undefined) { orphans++; } else if (R.eD[r] < 0) { R.eD[r] = e; }
          break;
        case 'reply':
        case 'lost':
          r = byCall.get(F(e, 'call'));
          if (r === undefined) { orphans++; } else if (R.end[r] === 0) {
            R.end[r] = kind === 'reply' ? 1 : 2;
            R.eE[r] = e;
          }
          break;
        case 'apply':
        case 'apply-snapshot':
          if (!L) { tester.other.push(e); break; }
          (kind === 'apply' ? L.apply : L.snap).push(e);
          v = F(e, 'index');
          if (num(v)) { pushSeries(L.applied, e, v); if (v > maxIndex) { maxIndex = v; } }
          break;
        case 'log':
          if (!L) { tester.other.push(e); break; }
          v = String(F(e, 'level') || '').toUpperCase();
          (v === 'WARNING' || v === 'ERROR' || v === 'CRITICAL' || v === 'WARN' ? L.logHi : L.logLo)
            .push(e);
          break;
        case 'monitor':
          (L ? L.mon : tester.other).push(e);
          break;
        case 'check':
          tester.checks.push(e);
          break;
        case 'net':
          v = F(e, 'setting');
          if (typeof v !== 'string') { tester.other.push(e); break; }
          var row = netRow(v), val = F(e, 'value');
          var on = v === 'reliable' ? val === false : !!val;
          tester.nets.push(e);
          if (on && !row.open) { row.open = {e0: e, t0: t, e1: N, t1: TMAX}; }
          if (!on && row.open) { row.open.e1 = e; row.open.t1 = t; row.segs.push(row.open); row.open = null; }
          break;
        case 'failure':
          (L ? L.fails : tester.fails).push(e);
          break;
        case 'state':
          if (!L) { tester.other.push(e); break; }
          L.hasStatus = true;
          v = F(e, 'term');
          var leader = F(e, 'leader') === true;
          var role = leader ? R_LEADER
            : (L.role === R_LEADER || L.role === R_UNKNOWN) ? (L.insp.length ? R_FOLLOWER : R_NOTLEADER)
              : L.role;
          setRole(L, e, role, num(v) ? v : L.term, role === L.role && L.seg ? L.seg.name : undefined);
          break;
        case 'inspect':
          if (!L) { tester.other.push(e); break; }
          L.hasStatus = true;
          L.insp.push(e);
          v = F(e, 'term');
          var rname = F(e, 'role');
          setRole(L, e, roleCode(rname), num(v) ? v : L.term,
            typeof rname === 'string' ? rname : undefined);
          var cm = F(e, 'commit');
          if (num(cm)) { pushSeries(L.commit, e, cm); if (cm > maxIndex) { maxIndex = cm; } }
          var last = logLast(e);
          if (last !== null) { pushSeries(L.loglen, e, last); if (last > maxIndex) { maxIndex = last; } }
          break;
        default:
          (L || tester).other.push(e);
      }
    }
    lanes.forEach(function (L) {
      if (L.life) { L.lives.push(L.life); L.life = null; }
      if (L.seg) { L.roles.push(L.seg); L.seg = null; }
      if (L.dis) { L.disc.push(L.dis); L.dis = null; }
      if (L.cut) { L.cuts.push(L.cut); L.cut = null; }
    });
    netRows.forEach(function (row) { if (row.open) { row.segs.push(row.open); row.open = null; } });
    netRows = netRows.filter(function (row) { return row.segs.length > 0; });
    netRows.sort(function (a, b) { return (a.name === 'reliable' ? 0 : 1) - (b.name === 'reliable' ? 0 : 1); });

    function logLast(e) {
      var snap = F(e, 'snapshot'), log = F(e, 'log'), total = num(snap) ? snap : 0;
      if (!Array.isArray(log)) { return num(snap) ? snap : null; }
      for (var q = 0; q < log.length; q++) {
        if (Array.isArray(log[q]) && num(log[q][1])) { total += log[q][1]; }
      }
      return total;
    }

    // Leader spans inferred for servers without state/inspect records: from the
    // monitor's "leader in term N" to the server's last AppendEntries before it
    // crashed or became leader again.
    lanes.forEach(function (L) {
      if (L.hasStatus) { return; }
      var mons = L.mon.filter(function (m) { return F(m, 'what') === 'leader'; });
      if (!mons.length) { return; }
      L.inferred = true;
      mons.forEach(function (m, q) {
        var bound = q + 1 < mons.length ? mons[q + 1] : N;
        for (var c = 0; c < L.crashes.length; c++) {
          if (L.crashes[c] > m) { bound = Math.min(bound, L.crashes[c]); break; }
        }
        // (sends at the very time of the next leadership belong to it)
        var lastAE = m, a = upperIdx(L.aeSends, bound - 1) - 1;
        while (a >= 0 && bound < N && T[L.aeSends[a]] >= T[bound] && T[bound] > T[m]) { a--; }
        if (a >= 0 && L.aeSends[a] > m) { lastAE = L.aeSends[a]; }
        var found = /term (\d+)/.exec(String(F(m, 'detail') || ''));
        var term = found ? +found[1] : -1;
        L.roles.push({e0: m, t0: T[m], e1: lastAE, t1: T[lastAE], role: R_INFERRED, term: term});
        if (term >= 0) { L.terms.push({e: m, t: T[m], term: term}); }
      });
    });
    function upperIdx(arr, x) {  // first position whose value > x (arr sorted)
      var lo = 0, hi = arr.length;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (arr[mid] <= x) { lo = mid + 1; } else { hi = mid; } }
      return lo;
    }

    // RPCs as typed arrays sorted by send time.
    var NR = R.from.length;
    var rFrom = Int32Array.from(R.from), rTo = Int32Array.from(R.to), rM = Int32Array.from(R.m);
    var rES = Int32Array.from(R.eS), rED = Int32Array.from(R.eD), rEE = Int32Array.from(R.eE);
    var rEnd = Uint8Array.from(R.end), rHB = Uint8Array.from(R.hb);
    var rT0 = new Float64Array(NR), rT1 = new Float64Array(NR), rT2 = new Float64Array(NR);
    var rTe = new Float64Array(NR), rPmax = new Float64Array(NR);
    var rCls = new Uint8Array(NR), rLate = new Uint8Array(NR), rLost = new Uint8Array(NR);
    var NCLS = 7;  // drawing priority: dropped or dead, RequestVote and InstallSnapshot, late,
    // unreachable (cut or disconnected), other methods, AppendEntries with entries, heartbeats
    function lostKind(reason) {
      var l = String(reason || '').toLowerCase();
      if (l.indexOf('dead') >= 0) { return 3; }
      if (l.indexOf('unreachable') >= 0 || l.indexOf('disconnected') >= 0 || l.indexOf('blocked') >= 0) { return 2; }
      return 1;
    }
    var pmax = -Infinity;
    for (r = 0; r < NR; r++) {
      rT0[r] = T[rES[r]];
      rT1[r] = rED[r] >= 0 ? T[rED[r]] : NaN;
      rT2[r] = rEE[r] >= 0 ? T[rEE[r]] : NaN;
      rTe[r] = rEE[r] >= 0 ? rT2[r] : (rED[r] >= 0 ? Math.max(rT1[r], rT0[r]) : TMAX);
      if (rED[r] >= 0 && rT1[r] > rTe[r]) { rTe[r] = rT1[r]; }
      pmax = Math.max(pmax, rTe[r]);
      rPmax[r] = pmax;
      var late = 0;
      if (rED[r] >= 0 && rT1[r] - rT0[r] > LATE) { late |= 1; }
      if (rED[r] >= 0 && rEnd[r] === 1 && rT2[r] - rT1[r] > LATE) { late |= 2; }
      rLate[r] = late;
      var mc = MCLS[rM[r]];
      rLost[r] = rEnd[r] === 2 ? lostKind(F(rEE[r], 'reason')) : 0;
      rCls[r] = (rLost[r] === 1 || rLost[r] === 3) ? 0 : rLost[r] === 2 ? 3
        : (mc === 'rv' || mc === 'is') ? 1 : late ? 2 : mc === 'other' ? 4 : rHB[r] ? 6 : 5;
    }
    var laneArr = function (a) { return Int32Array.from(a); };
    // dead: between a crash and the next start (or the end), or before a late first start
    lanes.forEach(function (L) {
      var spans = [], prev = TMIN;
      L.lives.forEach(function (lf) {
        if (lf.t0 > prev) { spans.push([prev, lf.t0]); }
        prev = lf.t1;
      });
      if (prev < TMAX || !L.lives.length) { spans.push([prev, TMAX]); }
      L.deadSpans = spans;
    });
    lanes.forEach(function (L) {
      ['apply', 'snap', 'logLo', 'logHi', 'mon', 'starts', 'crashes', 'fails', 'other', 'all', 'insp']
        .forEach(function (key) { L[key] = laneArr(L[key]); });
      L.roles.sort(function (a, b) { return a.t0 - b.t0; });
      L.terms.sort(function (a, b) { return a.t - b.t; });
      L.termT = Float64Array.from(L.terms.map(function (x) { return x.t; }));
      ['applied', 'commit', 'loglen'].forEach(function (key) {
        var sr = L[key];
        L[key] = {t: Float64Array.from(sr.t), v: Float64Array.from(sr.v), e: Int32Array.from(sr.e)};
      });
    });
    ['checks', 'nets', 'fails', 'other', 'all'].forEach(function (key) {
      tester[key] = laneArr(tester[key]);
    });

    /* ------------------------------------------------------------ search */
    function lowerT(arr, t) {  // first i with T[arr[i]] >= t
      var lo = 0, hi = arr.length;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (T[arr[mid]] < t) { lo = mid + 1; } else { hi = mid; } }
      return lo;
    }
    function upperT(arr, t) {  // first i with T[arr[i]] > t
      var lo = 0, hi = arr.length;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (T[arr[mid]] <= t) { lo = mid + 1; } else { hi = mid; } }
      return lo;
    }
    function lowerF(arr, t) {  // first i with arr[i] >= t (arr a sorted Float64Array)
      var lo = 0, hi = arr.length;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (arr[mid] < t) { lo = mid + 1; } else { hi = mid; } }
      return lo;
    }
    function upperF(arr, t) {
      var lo = 0, hi = arr.length;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (arr[mid] <= t) { lo = mid + 1; } else { hi = mid; } }
      return lo;
    }
    function upperE(t) {  // first event index with T > t
      var lo = 0, hi = N;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (T[mid] <= t) { lo = mid + 1; } else { hi = mid; } }
      return lo;
    }
    function segAt(list, e) {  // the interval of list containing event index e
      for (var q = list.length - 1; q >= 0; q--) {
        if (list[q].e0 <= e) { return e < list[q].e1 || (list[q].e1 === N) ? list[q] : null; }
      }
      return null;
    }
    function lastLE(arr, e) {  // position of the last value <= e in a sorted index array
      return upperIdx(arr, e) - 1;
    }

    /* ------------------------------------------------------------ text */
    function who(e) {
      var sv = SV[e];
      if (sv < 0) { return 'tester'; }
      return INC[e] ? 'S' + sv + '#' + INC[e] : 'S' + sv;
    }
    function fmtT(t) { return t.toFixed(6) + ' s'; }
    function fmtDur(d) {
      if (!isFinite(d)) { return '?'; }
      if (d < 1e-3) { return (d * 1e6).toFixed(0) + ' µs'; }
      if (d < 1) { return (d * 1e3).toFixed(d < 0.01 ? 2 : 1) + ' ms'; }
      return d.toFixed(3) + ' s';
    }
    function str(v) {
      if (v === undefined) { return '?'; }
      if (typeof v === 'string') { return v; }
      try { return JSON.stringify(v); } catch (e3) { return String(v); }
    }
    function runs(log) {
      if (!Array.isArray(log)) { return str(log); }
      return '[' + log.map(function (p) {
        return Array.isArray(p) ? 't' + p[0] + (p[1] > 1 ? '×' + p[1] : '') : str(p);
      }).join(', ') + ']';
    }
    function describe(e) {
      var kind = KINDS[K[e]];
      function f(name) { return str(F(e, name)); }
      var data = F(e, 'data');
      var d = typeof data === 'string' && data ? ' ' + data : '';
      switch (kind) {
        case 'send': return '→ S' + f('to') + ' ' + f('method') + ' #' + f('call') + d;
        case 'deliver': return '← from S' + f('from') + ': ' + f('method') + ' #' + f('call') + ' (handler runs)';
        case 'reply': return '⇐ reply from S' + f('from') + ': ' + f('method') + ' #' + f('call') + d;
        case 'lost': return '✗ ' + f('method') + ' #' + f('call') + ' to S' + f('peer') + ': ' + f('reason') + ' → None';
        case 'apply': return 'applied [' + f('index') + '] ' + f('command');
        case 'apply-snapshot': return 'applied a snapshot up to [' + f('index') + '] (term ' + f('term') + ')';
        case 'start': return 'started (incarnation ' + INC[e] + ')';
        case 'crash': return 'crashed';
        case 'connect': return 'connected';
        case 'disconnect': return 'disconnected';
        case 'link': return 'link S' + SV[e] + ' → S' + f('to') + (F(e, 'blocked') ? ' blocked' : ' unblocked');
        case 'net': return 'net ' + f('setting') + ' = ' + str(F(e, 'value'));
        case 'check': return 'tester ' + f('what') + (F(e, 'detail') !== undefined && F(e, 'detail') !== '' ? ': ' + f('detail') : '');
        case 'log': return f('level') + ' ' + f('logger') + ': ' + f('message');
        case 'failure': return 'FAILURE: ' + f('message');
        case 'monitor': return '★ ' + f('what') + ': ' + f('detail');
        case 'state': return 'get_state(): term ' + f('term') + (F(e, 'leader') === true ? ', leader' : ', not leader');
        case 'inspect':
          return 'inspect: ' + f('role') + ', term ' + f('term') + ', voted for ' +
            (F(e, 'voted_for') === null ? 'nobody' : f('voted_for')) + ', commit ' + f('commit') +
            ', applied ' + f('applied') + ', snapshot ' + f('snapshot') + ', log ' + runs(F(e, 'log'));
        default: return kind + ' ' + str(rawFields(e));
      }
    }
    function lineOf(e) { return T[e].toFixed(6) + '  ' + who(e) + '  ' + describe(e); }

    /* ------------------------------------------------------------ DOM */
    var cv = document.getElementById('timeline-canvas');
    var ctx = cv.getContext('2d');
    var ov = document.getElementById('tl-overlay');
    var octx = ov.getContext('2d');
    var mainEl = document.getElementById('tl-main');
    var tip = document.getElementById('tl-tip');
    var marker = document.getElementById('failure-marker');
    var toolbar = document.getElementById('tl-toolbar');
    var detail = document.getElementById('tl-detail');

    var show = {servers: [], methods: [], hb: true, replies: true, lost: true, applies: true,
      logs: true, monitors: true, checks: true, shading: true, progress: true};
    for (j = 0; j < NS; j++) { show.servers.push(true); }
    for (j = 0; j < METHODS.length; j++) { show.methods.push(true); }

    // Text for the DOM: lone surrogates (a trace may hold any string) as U+FFFD.
    function wellFormed(s) {
      s = String(s);
      if (typeof s.toWellFormed === 'function') { return s.toWellFormed(); }
      return s.replace(/[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]/g, function (m) {
        return m.length === 2 ? m : '\ufffd';
      });
    }
    function el(tag, cls, text) {
      var x = document.createElement(tag);
      if (cls) { x.className = cls; }
      if (text !== undefined) { x.textContent = wellFormed(text); }
      return x;
    }
    var statusEl;
    function buildToolbar() {
      var g1 = el('div', 'group');
      function button(label, title, fn, disabled) {
        var b = el('button', '', label);
        b.type = 'button';
        b.title = title;
        b.disabled = !!disabled;
        b.addEventListener('click', guard(fn));
        g1.appendChild(b);
        return b;
      }
      button('Fit all', 'show the whole run (0 or F)', fitAll);
      button('Zoom to failure', 'the moments before the failure (X)', zoomFailure, !FAILED);
      button('−', 'zoom out (-)', function () { zoomAt((view.t0 + view.t1) / 2, 2); });
      button('+', 'zoom in (+)', function () { zoomAt((view.t0 + view.t1) / 2, 0.5); });
      button('◀', 'pan left (←)', function () { pan(-0.25); });
      button('▶', 'pan right (→)', function () { pan(0.25); });
      toolbar.appendChild(g1);
      var g2 = el('div', 'group');
      g2.appendChild(el('span', 'glabel', 'servers'));
      lanes.forEach(function (L) {
        g2.appendChild(check('S' + L.s, true, function (on) { show.servers[L.s] = on; relayout(); }));
      });
      toolbar.appendChild(g2);
      var g3 = el('div', 'group');
      g3.appendChild(el('span', 'glabel', 'RPCs'));
      METHODS.forEach(function (m, q) {
        g3.appendChild(check(m + ' (' + MCOUNT[q] + ')', true, function (on) { show.methods[q] = on; requestDraw(); }));
      });
      if (rHB.some(function (h) { return h === 1; })) {
        g3.appendChild(check('heartbeats', true, function (on) { show.hb = on; requestDraw(); }));
      }
      g3.appendChild(check('replies', true, function (on) { show.replies = on; requestDraw(); }));
      g3.appendChild(check('lost', true, function (on) { show.lost = on; requestDraw(); }));
      toolbar.appendChild(g3);
      var g4 = el('div', 'group');
      g4.appendChild(el('span', 'glabel', 'show'));
      [['applies', 'applies & snapshots'], ['progress', 'index lines'], ['logs', 'log lines'],
        ['monitors', 'monitors'], ['checks', 'tester steps'], ['shading', 'dead / cuts shading']]
        .forEach(function (p) {
          g4.appendChild(check(p[1], true, function (on) { show[p[0]] = on; requestDraw(); }));
        });
      toolbar.appendChild(g4);
      statusEl = el('div', 'status');
      toolbar.appendChild(statusEl);
    }
    function check(label, on, fn) {
      var lab = el('label', 'chk');
      var box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = on;
      box.addEventListener('change', guard(function () { fn(box.checked); }));
      lab.appendChild(box);
      lab.appendChild(document.createTextNode(wellFormed(label)));
      return lab;
    }

    /* ------------------------------------------------------------ layout */
    var W = 800, H = 400, DPR = 1;
    var X0 = 84, XR = 16;
    var OV_Y = 2, OV_H = 18, AX_Y = 22, TS_Y = 40, TS_H = 60, LY0 = 110, LH = 96;
    var visLanes = [];
    var view = {t0: TMIN, t1: TMAX};
    var pin = null;
    var hist = null;

    function relayout() {
      DPR = window.devicePixelRatio || 1;
      W = Math.max(520, Math.floor(mainEl.clientWidth || 800));
      visLanes = lanes.filter(function (L) { return show.servers[L.s]; });
      TS_H = 34 + netRows.length * 8;
      LY0 = TS_Y + TS_H + 4;
      var top = mainEl.getBoundingClientRect().top;
      var avail = (window.innerHeight || 900) - Math.max(0, Math.min(top, 300)) - LY0 - 16;
      LH = Math.max(84, Math.min(124, Math.floor(avail / Math.max(1, visLanes.length))));
      visLanes.forEach(function (L, q) { L.y = LY0 + q * LH; L.yc = L.y + 31; });
      H = LY0 + visLanes.length * LH + 6;
      [cv, ov].forEach(function (c) {
        c.style.width = W + 'px';
        c.style.height = H + 'px';
        c.width = Math.round(W * DPR);
        c.height = Math.round(H * DPR);
      });
      mainEl.style.height = H + 'px';
      hist = null;
      requestDraw();
    }
    function plotW() { return W - XR - X0; }
    function xOf(t) { return X0 + (t - view.t0) * plotW() / (view.t1 - view.t0); }
    function tOf(x) { return view.t0 + (x - X0) * (view.t1 - view.t0) / plotW(); }
    function laneAtY(y) {
      for (var q = 0; q < visLanes.length; q++) {
        if (y >= visLanes[q].y && y < visLanes[q].y + LH) { return visLanes[q]; }
      }
      return null;
    }

    /* ------------------------------------------------------------ view */
    function setView(t0, t1) {
      var full = TMAX - TMIN, span = t1 - t0;
      if (!(span > 0)) { return; }
      if (span < 1e-6) { var c = (t0 + t1) / 2; t0 = c - 5e-7; t1 = c + 5e-7; span = 1e-6; }
      if (span > full * 4) { var c2 = (t0 + t1) / 2; t0 = c2 - full * 2; t1 = c2 + full * 2; span = full * 4; }
      if (t1 < TMIN + span * 0.1) { t0 = TMIN + span * 0.1 - span; t1 = t0 + span; }
      if (t0 > TMAX - span * 0.1) { t0 = TMAX - span * 0.1; t1 = t0 + span; }
      view.t0 = t0;
      view.t1 = t1;
      requestDraw();
    }
    function fitAll() {
      var pad = (TMAX - TMIN) * 0.01;
      setView(TMIN - pad, TMAX + pad);
    }
    // the last 40 events or so before the failure (at least 2 ms, at most 3 s)
    function zoomFailure() {
      if (!FAILED) { return; }
      var last = Math.max(0, Math.min(N - 1, upperE(FAIL_T) - 1));
      var from = N ? T[Math.max(0, last - 40)] : FAIL_T - 1;
      var span = Math.max(0.002, Math.min(3, (FAIL_T - from) * 1.1));
      setView(FAIL_T - span, FAIL_T + span * 0.25);
    }
    function zoomAt(t, factor) {
      setView(t - (t - view.t0) * factor, t + (view.t1 - t) * factor);
    }
    function pan(frac) {
      var d = (view.t1 - view.t0) * frac;
      setView(view.t0 + d, view.t1 + d);
    }

    /* ------------------------------------------------------------ hit grid */
    var CELL = 24, grid = new Map(), items = [];
    function hitReset() { grid = new Map(); items = []; }
    function addHit(item, xa, ya, xb, yb) {
      var id = items.length;
      items.push(item);
      var cx0 = Math.floor(Math.min(xa, xb) / CELL), cx1 = Math.floor(Math.max(xa, xb) / CELL);
      var cy0 = Math.floor(Math.min(ya, yb) / CELL), cy1 = Math.floor(Math.max(ya, yb) / CELL);
      cx0 = Math.max(cx0, Math.floor(X0 / CELL) - 1);
      cx1 = Math.min(cx1, Math.floor(W / CELL) + 1);
      for (var cx = cx0; cx <= cx1; cx++) {
        for (var cy = Math.max(0, cy0); cy <= cy1; cy++) {
          var key = cx * 65536 + cy, list = grid.get(key);
          if (!list) { grid.set(key, [id]); } else { list.push(id); }
        }
      }
    }
    function hitPoint(item, x, y, r) { item.x = x; item.y = y; item.r = r; addHit(item, x - r, y - r, x + r, y + r); }
    function hitSeg(item, xa, ya, xb, yb) {
      item.xa = xa; item.ya = ya; item.xb = xb; item.yb = yb;
      addHit(item, xa, ya, xb, yb);
    }
    function distSeg(px, py, it) {
      var dx = it.xb - it.xa, dy = it.yb - it.ya, len2 = dx * dx + dy * dy;
      var u = len2 > 0 ? ((px - it.xa) * dx + (py - it.ya) * dy) / len2 : 0;
      u = Math.max(0, Math.min(1, u));
      var qx = it.xa + u * dx - px, qy = it.ya + u * dy - py;
      return Math.sqrt(qx * qx + qy * qy);
    }
    function findHit(px, py) {
      var best = null, bestD = 7, seen = {};
      var cx = Math.floor(px / CELL), cy = Math.floor(py / CELL);
      for (var a = cx - 1; a <= cx + 1; a++) {
        for (var b = cy - 1; b <= cy + 1; b++) {
          var list = grid.get(a * 65536 + b);
          if (!list) { continue; }
          for (var q = 0; q < list.length; q++) {
            var id = list[q];
            if (seen[id]) { continue; }
            seen[id] = 1;
            var it = items[id], d;
            if (it.xa !== undefined) { d = distSeg(px, py, it) + (it.bias || 0); }
            else { d = Math.max(0, Math.sqrt((px - it.x) * (px - it.x) + (py - it.y) * (py - it.y)) - it.r); }
            if (d < bestD || (d === bestD && best && (it.prio || 0) > (best.prio || 0))) { bestD = d; best = it; }
          }
        }
      }
      return best;
    }

    /* ------------------------------------------------------------ drawing */
    function hatch(color, bg) {
      var c = document.createElement('canvas');
      c.width = 8; c.height = 8;
      var g = c.getContext('2d');
      if (bg) { g.fillStyle = bg; g.fillRect(0, 0, 8, 8); }
      g.strokeStyle = color;
      g.lineWidth = 1.5;
      g.beginPath();
      g.moveTo(-2, 10); g.lineTo(10, -2);
      g.moveTo(-2, 2); g.lineTo(2, -2);
      g.moveTo(6, 10); g.lineTo(10, 6);
      g.stroke();
      return ctx.createPattern(c, 'repeat');
    }
    var PAT_DEAD = hatch('rgba(0,0,0,0.22)', 'rgba(60,60,60,0.16)');
    var PAT_CUT = hatch('rgba(230,126,0,0.22)', 'rgba(250,170,60,0.06)');
    var PAT_DISC = hatch('rgba(214,39,40,0.16)', 'rgba(214,39,40,0.05)');
    var PAT_INF = hatch('rgba(255,255,255,0.55)', null);
    var PAT_NET = hatch('rgba(0,0,0,0.18)', null);
    var FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    var FONT_B = 'bold 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    var FONT_S = '10px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

    function clipX(x) { return Math.max(X0 - 2, Math.min(W - XR + 2, x)); }
    function spanRect(t0, t1, y, h, style) {
      if (t1 < view.t0 || t0 > view.t1) { return false; }
      var xa = clipX(xOf(t0)), xb = clipX(xOf(t1));
      ctx.fillStyle = style;
      ctx.fillRect(xa, y, Math.max(1, xb - xa), h);
      return true;
    }

    function drawOverview() {
      var pw = plotW(), q;
      if (!hist || hist.length !== pw) {
        hist = new Float64Array(Math.max(1, pw));
        for (q = 0; q < N; q++) {
          var b = Math.floor((T[q] - TMIN) / (TMAX - TMIN) * (pw - 1));
          hist[Math.max(0, Math.min(pw - 1, b))]++;
        }
        var mx = 1;
        for (q = 0; q < pw; q++) { mx = Math.max(mx, hist[q]); }
        for (q = 0; q < pw; q++) { hist[q] = Math.sqrt(hist[q] / mx); }
      }
      ctx.fillStyle = '#f1f3f6';
      ctx.fillRect(X0, OV_Y, pw, OV_H);
      ctx.fillStyle = '#9aa5b4';
      for (q = 0; q < pw; q++) {
        if (hist[q] > 0) {
          var h = Math.max(1, hist[q] * (OV_H - 2));
          ctx.fillRect(X0 + q, OV_Y + OV_H - h, 1, h);
        }
      }
      function ox(t) { return X0 + (t - TMIN) / (TMAX - TMIN) * (pw - 1); }
      if (FAILED) { ctx.fillStyle = LOST_COLOR; ctx.fillRect(ox(FAIL_T) - 1, OV_Y, 2, OV_H); }
      var a = Math.max(X0, ox(view.t0)), b2 = Math.min(X0 + pw, ox(view.t1));
      ctx.fillStyle = 'rgba(31,111,209,0.15)';
      ctx.fillRect(a, OV_Y, Math.max(2, b2 - a), OV_H);
      ctx.strokeStyle = '#1f6fd1';
      ctx.lineWidth = 1;
      ctx.strokeRect(a + 0.5, OV_Y + 0.5, Math.max(2, b2 - a) - 1, OV_H - 1);
      ctx.fillStyle = '#56606b';
      ctx.font = FONT_S;
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'right';
      ctx.fillText('whole run', X0 - 6, OV_Y + OV_H / 2);
      ctx.textAlign = 'left';
    }

    function niceStep(raw) {
      var p = Math.pow(10, Math.floor(Math.log10(raw)));
      var m = raw / p;
      return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
    }
    function drawAxis() {
      var span = view.t1 - view.t0, step = niceStep(span / Math.max(1, plotW() / 110));
      var dec = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
      ctx.font = FONT;
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'center';
      for (var t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
        var x = Math.round(xOf(t)) + 0.5;
        if (x < X0 || x > W - XR) { continue; }
        ctx.fillStyle = '#eef0f3';
        ctx.fillRect(x - 0.5, TS_Y, 1, H - TS_Y);
        ctx.fillStyle = '#8a94a3';
        ctx.fillRect(x - 0.5, AX_Y + 12, 1, 5);
        ctx.fillStyle = '#3a4350';
        ctx.fillText(t.toFixed(dec) + ' s', x, AX_Y + 6);
      }
      ctx.textAlign = 'left';
    }

    function drawTester() {
      ctx.fillStyle = '#f7f8fa';
      ctx.fillRect(0, TS_Y, W, TS_H);
      ctx.fillStyle = '#d0d5db';
      ctx.fillRect(0, TS_Y + TS_H, W, 1);
      ctx.fillStyle = '#1e2630';
      ctx.font = FONT_B;
      ctx.textBaseline = 'middle';
      ctx.fillText('tester', 8, TS_Y + TS_H - 14);
      ctx.save();
      ctx.beginPath();
      ctx.rect(X0, TS_Y, plotW(), TS_H);
      ctx.clip();
      // network settings, one band each
      netRows.forEach(function (row, q) {
        var y = TS_Y + 4 + q * 8;
        row.segs.forEach(function (sg) {
          if (spanRect(sg.t0, sg.t1, y, 6, row.name === 'reliable' ? '#f5b041' : row.name === 'long_reordering' ? '#d98ad9' : '#7fc8c0')) {
            var xa = Math.max(X0, xOf(sg.t0)), xb = Math.min(W - XR, xOf(sg.t1));
            hitSeg({type: 'net', row: row, seg: sg, bias: 1}, xa, y + 3, xb, y + 3);
          }
        });
      });
      var yl = TS_Y + 6 + netRows.length * 8;
      // tester steps: ticks first, then labels (on two rows) over them
      if (show.checks) {
        var arr = tester.checks, a = lowerT(arr, view.t0), b = upperT(arr, view.t1);
        var right = [-1e9, -1e9], shown = [];
        for (var q = a; q < b;) {
          // one tick per pixel column: its last step
          var px0 = Math.floor(xOf(T[arr[q]]));
          var qe = Math.min(b - 1, Math.max(q, lowerT(arr, tOf(px0 + 1)) - 1));
          while (qe + 1 < b && Math.floor(xOf(T[arr[qe + 1]])) <= px0) { qe++; }
          var e = arr[qe], x = xOf(T[e]), px = Math.floor(x);
          ctx.fillStyle = F(e, 'what') === 'end' ? '#2ca25f' : '#5f6b7a';
          ctx.fillRect(px, yl, 1, TS_H - (yl - TS_Y) - 2);
          hitPoint({type: 'ev', e: e, prio: 1}, x, yl + 10, 4);
          shown.push(e);
          q = qe + 1;
        }
        ctx.font = FONT_S;
        ctx.textBaseline = 'top';
        shown.forEach(function (e) {
          var x = xOf(T[e]), label = checkLabel(e), w = ctx.measureText(label).width;
          var lx = x + 3 + w > W - XR ? x - 3 - w : x + 3;
          for (var rr = 0; rr < 2; rr++) {
            if (right[rr] < lx) {
              ctx.fillStyle = 'rgba(247,248,250,0.9)';
              ctx.fillRect(lx - 1, yl + rr * 13, w + 2, 12);
              ctx.fillStyle = F(e, 'what') === 'end' ? '#1d7a44' : '#2d3640';
              ctx.fillText(label, lx, yl + 1 + rr * 13);
              right[rr] = lx + w + 8;
              break;
            }
          }
        });
      }
      marks(tester.other, TS_Y + TS_H - 8, 'other');
      marks(tester.fails, TS_Y + TS_H - 8, 'fail');
      ctx.restore();
      ctx.fillStyle = '#56606b';
      ctx.font = FONT_S;
      ctx.textBaseline = 'middle';
      netRows.forEach(function (row, q) {
        ctx.textAlign = 'right';
        ctx.fillText(row.label, X0 - 6, TS_Y + 7 + q * 8);
      });
      ctx.textAlign = 'left';
    }

    function checkLabel(e) {
      var what = str(F(e, 'what')), det = F(e, 'detail');
      if (what === 'begin') { return 'begin'; }
      if (typeof det === 'string') {
        var m = /-> index (\d+)\s*$/.exec(det);
        if (m) { return what + ' → [' + m[1] + ']'; }
        if (what === 'end') { det = det.replace(/^\.\.\.\s*/, '').split(/\s+/)[0] || det; }
      }
      var label = what + (det !== undefined && det !== null && det !== '' ? ' ' + str(det) : '');
      return label.length > 28 ? label.slice(0, 27) + '…' : label;
    }
    // point marks of one series, at most one per pixel column
    function marks(arr, y, style) {
      var a = lowerT(arr, view.t0), b = upperT(arr, view.t1), lastPx = -1e9;
      for (var q = a; q < b;) {
        var e = arr[q], x = xOf(T[e]), px = Math.floor(x);
        drawMark(style, x, y, e);
        lastPx = px;
        q++;
        if (q < b && Math.floor(xOf(T[arr[q]])) <= lastPx + (style === 'apply' ? 1 : 2)) {
          q = Math.max(q, lowerT(arr, tOf(lastPx + (style === 'apply' ? 2 : 3))));
        }
      }
    }
    function drawMark(style, x, y, e) {
      var item = {type: 'ev', e: e};
      switch (style) {
        case 'apply':
          ctx.fillStyle = '#2ca25f';
          ctx.fillRect(Math.floor(x), y - 3, 1, 6);
          hitPoint(item, x, y, 2);
          break;
        case 'snap':
          ctx.fillStyle = '#8e44ad';
          ctx.beginPath();
          ctx.moveTo(x, y - 5); ctx.lineTo(x + 4, y); ctx.lineTo(x, y + 5); ctx.lineTo(x - 4, y);
          ctx.closePath();
          ctx.fill();
          item.prio = 2;
          hitPoint(item, x, y, 5);
          break;
        case 'logLo':
        case 'logHi':
          var lv = String(F(e, 'level') || '').toUpperCase();
          ctx.fillStyle = lv === 'ERROR' || lv === 'CRITICAL' ? '#d62728' : lv.indexOf('WARN') === 0 ? '#e69a00'
            : lv === 'INFO' ? '#3b7dd8' : '#9aa5b4';
          ctx.fillRect(x - 1.5, y - 1.5, 3, 3);
          hitPoint(item, x, y, 3);
          break;
        case 'mon':
          ctx.fillStyle = '#c99a00';
          ctx.font = '12px system-ui, sans-serif';
          ctx.textBaseline = 'middle';
          ctx.textAlign = 'center';
          ctx.fillText('★', x, y);
          ctx.textAlign = 'left';
          item.prio = 2;
          hitPoint(item, x, y, 5);
          break;
        case 'fail':
          ctx.strokeStyle = LOST_COLOR;
          ctx.lineWidth = 2;
          xmark(x, y, 5);
          item.prio = 3;
          hitPoint(item, x, y, 6);
          break;
        default:
          ctx.fillStyle = '#7f8c8d';
          ctx.fillRect(x - 2, y - 2, 4, 4);
          hitPoint(item, x, y, 3);
      }
    }
    function xmark(x, y, r) {
      ctx.beginPath();
      ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r);
      ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r);
      ctx.stroke();
    }

    // outside the trace: before its first event and after its last
    function drawOutside() {
      ctx.fillStyle = '#eceff3';
      if (view.t0 < TMIN) { ctx.fillRect(X0, TS_Y, Math.max(0, Math.min(W - XR, xOf(TMIN)) - X0), H - TS_Y); }
      if (view.t1 > TMAX) {
        var xa = Math.max(X0, xOf(TMAX));
        ctx.fillRect(xa, TS_Y, W - XR - xa, H - TS_Y);
      }
    }
    function drawLaneBack(L, q) {
      var y = L.y, yc = L.yc;
      ctx.fillStyle = q % 2 ? '#fbfcfd' : '#ffffff';
      ctx.fillRect(X0, y, plotW(), LH);
      ctx.fillStyle = '#d0d5db';
      ctx.fillRect(0, y + LH - 1, W, 1);
      var deadSpans = L.deadSpans;
      if (show.shading) {
        deadSpans.forEach(function (d) { spanRect(d[0], d[1], y, LH - 1, PAT_DEAD); });
        aliveParts(L, L.disc).forEach(function (d) {
          if (spanRect(d.t0, d.t1, y + 1, LH - 2, PAT_DISC)) {
            laneLabel(L, d.t0, d.t1, 'disconnected', '#b0201e');
            hitSeg({type: 'disc', L: L, seg: d.src, bias: 2}, clipX(xOf(d.t0)), y + LH - 5, clipX(xOf(d.t1)), y + LH - 5);
          }
        });
        L.cuts.forEach(function (d) {
          if (spanRect(d.t0, d.t1, y + 1, LH - 2, PAT_CUT)) {
            laneLabel(L, d.t0, d.t1, cutText(d), '#a35a00');
            hitSeg({type: 'cut', L: L, seg: d, bias: 2}, clipX(xOf(d.t0)), y + LH - 5, clipX(xOf(d.t1)), y + LH - 5);
          }
        });
      }
      // the bar: alive spans in the unknown colour, then roles over them
      L.lives.forEach(function (lf) {
        spanRect(lf.t0, lf.t1, yc - 6, 12, L.hasStatus ? ROLE_COLOR[R_FOLLOWER] : ROLE_COLOR[R_UNKNOWN]);
      });
      var a = 0;
      while (a < L.roles.length && L.roles[a].t1 < view.t0) { a++; }
      for (; a < L.roles.length && L.roles[a].t0 <= view.t1; a++) {
        var sg = L.roles[a];
        spanRect(sg.t0, Math.max(sg.t1, sg.t0 + (view.t1 - view.t0) / plotW()), yc - 6, 12, ROLE_COLOR[sg.role]);
        if (sg.role === R_INFERRED) { spanRect(sg.t0, sg.t1, yc - 6, 12, PAT_INF); }
      }
      // the term strip under the bar
      var terms = L.terms;
      for (a = 0; a < terms.length; a++) {
        var t0 = terms[a].t, t1 = a + 1 < terms.length ? terms[a + 1].t : TMAX;
        if (t1 < view.t0 || t0 > view.t1) { continue; }
        L.lives.forEach(function (lf) {
          var u0 = Math.max(t0, lf.t0), u1 = Math.min(t1, lf.t1);
          if (u1 > u0 && !(L.inferred)) { spanRect(u0, u1, yc + 6, 3, termColor(terms[a].term)); }
        });
      }
      // dead: a thin dashed line
      ctx.strokeStyle = 'rgba(40,40,40,0.45)';
      ctx.lineWidth = 1;
      ctx.setLineDash([3, 4]);
      ctx.beginPath();
      deadSpans.forEach(function (d) {
        if (d[1] < view.t0 || d[0] > view.t1) { return; }
        ctx.moveTo(clipX(xOf(d[0])), yc + 0.5);
        ctx.lineTo(clipX(xOf(d[1])), yc + 0.5);
      });
      ctx.stroke();
      ctx.setLineDash([]);
      // hover target for the whole bar
      hitSeg({type: 'lane', L: L, bias: 3}, X0, yc, W - XR, yc);
    }
    // the parts of the intervals in list during the server's lives
    function aliveParts(L, list) {
      var out = [];
      list.forEach(function (d) {
        L.lives.forEach(function (lf) {
          var a = Math.max(d.t0, lf.t0), b = Math.min(d.t1, lf.t1);
          if (b > a) { out.push({t0: a, t1: b, e0: d.e0, e1: d.e1, src: d}); }
        });
      });
      return out;
    }
    function laneLabel(L, t0, t1, text, color) {
      var xa = Math.max(X0 + 2, xOf(t0) + 3), xb = Math.min(W - XR, xOf(t1));
      ctx.font = FONT_S;
      var w = ctx.measureText(text).width;
      if (xb - xa < 24) { return; }
      if (w > xb - xa - 4) {
        while (text.length > 4 && ctx.measureText(text + '…').width > xb - xa - 4) { text = text.slice(0, -1); }
        text += '…';
      }
      ctx.fillStyle = 'rgba(255,255,255,0.8)';
      ctx.fillRect(xa - 2, L.y + LH - 15, Math.min(w, xb - xa - 4) + 4, 13);
      ctx.fillStyle = color;
      ctx.textBaseline = 'bottom';
      ctx.fillText(text, xa, L.y + LH - 3);
    }
    function cutText(d) {
      var p = [];
      if (d.out.length) { p.push('↛ ' + d.out.map(function (x) { return 'S' + x; }).join(' ')); }
      if (d.inn.length) { p.push('↚ ' + d.inn.map(function (x) { return 'S' + x; }).join(' ')); }
      return 'cut: ' + p.join('  ');
    }

    function drawTerms(L) {
      var y = L.y + 9, right = -1e9;
      ctx.font = FONT_S;
      ctx.textBaseline = 'middle';
      var a = Math.max(0, lowerF(L.termT, view.t0) - 1);
      for (; a < L.terms.length && L.terms[a].t <= view.t1; a++) {
        var tr = L.terms[a], x = xOf(tr.t);
        if (x >= X0 - 1) {
          ctx.fillStyle = '#1e2630';
          ctx.fillRect(Math.round(x), L.yc - 8, 1, 18);
        }
        var label = 'T' + tr.term, lx = Math.max(X0 + 1, x + 2);
        if (lx > right && tr.term > 0) {
          ctx.fillStyle = termColor(tr.term);
          ctx.fillRect(lx - 1, y - 6, ctx.measureText(label).width + 5, 12);
          ctx.fillStyle = '#ffffff';
          ctx.fillText(label, lx + 1.5, y);
          right = lx + ctx.measureText(label).width + 10;
          hitPoint({type: 'term', L: L, tr: tr}, lx + 8, y, 6);
        }
      }
      // starts (labelled with the incarnation, on the row under the terms) and crashes
      var q, e, xx, incRight = -1e9;
      for (q = lowerT(L.starts, view.t0); q < L.starts.length && T[L.starts[q]] <= view.t1; q++) {
        e = L.starts[q];
        xx = xOf(T[e]);
        ctx.fillStyle = '#1b9e4b';
        ctx.beginPath();
        ctx.moveTo(xx, L.yc - 8); ctx.lineTo(xx + 8, L.yc); ctx.lineTo(xx, L.yc + 8);
        ctx.closePath();
        ctx.fill();
        if (L.starts.length > 1 || INC[e] > 1) {
          var lab = 'S' + L.s + '#' + INC[e];
          ctx.font = FONT_B;
          ctx.textBaseline = 'middle';
          var lw = ctx.measureText(lab).width;
          if (xx + 2 > incRight) {
            ctx.fillStyle = 'rgba(255,255,255,0.85)';
            ctx.fillRect(xx + 1, L.y + 15, lw + 4, 12);
            ctx.fillStyle = '#136b34';
            ctx.fillText(lab, xx + 3, L.y + 21);
            incRight = xx + lw + 8;
          }
          ctx.font = FONT_S;
        }
        hitPoint({type: 'ev', e: e, prio: 3}, xx + 3, L.yc, 7);
      }
      for (q = lowerT(L.crashes, view.t0); q < L.crashes.length && T[L.crashes[q]] <= view.t1; q++) {
        e = L.crashes[q];
        xx = xOf(T[e]);
        ctx.strokeStyle = '#c0392b';
        ctx.lineWidth = 2.5;
        xmark(xx, L.yc, 6);
        hitPoint({type: 'ev', e: e, prio: 3}, xx, L.yc, 7);
      }
    }

    function drawProgress(L) {
      if (!show.progress) { return; }
      var yb = L.y + LH - 8, h = LH - 8 - 48;
      if (h < 12) { return; }
      ctx.fillStyle = '#f0f2f5';
      ctx.fillRect(X0, yb - h - 1, plotW(), 1);
      stepLine(L.loglen, yb, h, '#9aa5b4', [2, 2], L);
      stepLine(L.commit, yb, h, '#1f6fd1', null, L);
      stepLine(L.applied, yb, h, '#2ca25f', null, L);
    }
    function stepLine(sr, yb, h, color, dash, L) {
      var n2 = sr.t.length;
      if (!n2) { return; }
      var a = Math.max(0, upperF(sr.t, view.t0) - 1), b = upperF(sr.t, view.t1);
      var yOf = function (v) { return yb - Math.max(0, v) / maxIndex * h; };
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5;
      ctx.setLineDash(dash || []);
      ctx.beginPath();
      var x = clipX(xOf(sr.t[a])), y = yOf(sr.v[a]);
      ctx.moveTo(x, y);
      var q = a + 1;
      while (q < b) {
        var px = Math.floor(xOf(sr.t[q]));
        var q2 = lowerF(sr.t, tOf(px + 1));  // the last point in this pixel column is q2-1
        if (q2 <= q) { q2 = q + 1; }
        var last = q2 - 1, lo = sr.v[last], hi = sr.v[last];
        if (q2 - q < 64) { for (var z = q; z < q2; z++) { lo = Math.min(lo, sr.v[z]); hi = Math.max(hi, sr.v[z]); } }
        ctx.lineTo(px, y);
        if (lo !== hi) { ctx.lineTo(px, yOf(lo)); ctx.lineTo(px, yOf(hi)); }
        y = yOf(sr.v[last]);
        ctx.lineTo(px, y);
        q = q2;
      }
      // up to the end of the server's life (or of the view)
      var endT = view.t1;
      for (var lq = 0; lq < L.lives.length; lq++) {
        var lf = L.lives[lq];
        if (lf.t0 <= sr.t[Math.min(b, n2) - 1] && sr.t[Math.min(b, n2) - 1] <= lf.t1) { endT = Math.min(endT, lf.t1); }
      }
      ctx.lineTo(clipX(xOf(endT)), y);
      ctx.stroke();
      ctx.setLineDash([]);
    }

    function drawLaneMarks(L) {
      drawTerms(L);
      if (show.applies) {
        marks(L.apply, L.yc + 13, 'apply');
        marks(L.snap, L.yc + 13, 'snap');
      }
      if (show.logs) {
        marks(L.logLo, L.y + 21, 'logLo');
        marks(L.logHi, L.y + 21, 'logHi');
      }
      if (show.monitors) { marks(L.mon, L.y + 21, 'mon'); }
      marks(L.other, L.y + 21, 'other');
      marks(L.fails, L.yc, 'fail');
    }

    function rpcVisible(r) {
      if (!show.servers[rFrom[r]] || !show.servers[rTo[r]] || !show.methods[rM[r]]) { return false; }
      if (rHB[r] && !show.hb) { return false; }
      if (rEnd[r] === 2 && !show.lost) { return false; }
      return true;
    }
    var lastStats = {inView: 0, drawn: 0, bins: 0, arrows: 0};
    function drawRpcs() {
      var lo = lowerF(rPmax, view.t0), hi = upperF(rT0, view.t1);
      var counts = new Int32Array(NCLS), r;
      var vis = [];
      for (r = lo; r < hi; r++) {
        if (rTe[r] < view.t0 || !rpcVisible(r)) { continue; }
        vis.push(r);
        counts[rCls[r]] += rEnd[r] === 1 && show.replies ? 2 : 1;  // legs to draw
      }
      var budget = Math.max(120, Math.floor(plotW() / 3));
      var indiv = [], used = 0;
      for (var c = 0; c < NCLS; c++) {
        if (used + counts[c] > budget) { break; }
        used += counts[c];
        indiv[c] = true;
      }
      var binned = vis.filter(function (x) { return !indiv[rCls[x]]; });
      var bins = drawBins(binned);
      var drawn = drawArrows(vis.filter(function (x) { return indiv[rCls[x]]; }));
      lastStats = {inView: vis.length, drawn: drawn, bins: bins, arrows: drawn + bins,
        aggregated: binned.length, indiv: indiv};
      return lastStats;
    }
    function bucketStyle(map, key) {
      var b = map[key];
      if (!b) { b = map[key] = []; }
      return b;
    }
    function anchorY(a, b, start) {
      // the edge of lane a's bar facing lane b
      var La = lanes[a], Lb = lanes[b];
      if (a === b) { return La.yc; }
      return start ? (Lb.yc > La.yc ? La.yc + 6 : La.yc - 6) : (Lb.yc > La.yc ? La.yc - 6 : La.yc + 6);
    }
    function drawArrows(list) {
      var styles = {}, heads = {}, xs = [], drawn = 0;
      function seg(key, xa, ya, xb, yb, head, r, leg) {
        bucketStyle(styles, key).push(xa, ya, xb, yb);
        if (head) { bucketStyle(heads, key).push(xa, ya, xb, yb); }
        hitSeg({type: 'rpc', r: r, leg: leg, prio: key === 'lost' || key === 'dead' || key === 'cut' ? 2 : 1}, xa, ya, xb, yb);
        drawn++;
      }
      for (var q = 0; q < list.length; q++) {
        var r = list[q], a = rFrom[r], b = rTo[r];
        var ya = anchorY(a, b, true), yb = anchorY(b, a, true);
        var xa = xOf(rT0[r]);
        var mc = MCLS[rM[r]], base = mc === 'ae' && rHB[r] ? 'hb' : mc;
        var dead = rLost[r] === 3, lk = dead ? 'dead' : rLost[r] === 2 ? 'cut' : 'lost';
        if (rED[r] >= 0) {
          var xb = xOf(rT1[r]);
          seg(rLate[r] & 1 ? 'late' : base, xa, ya, xb, anchorY(b, a, false), true, r, 0);
          if (rEnd[r] === 1 && show.replies) {
            seg(rLate[r] & 2 ? 'late' : base + 'R', xb, yb, xOf(rT2[r]), anchorY(a, b, false), true, r, 1);
          } else if (rEnd[r] === 2) {
            // the reply was lost: dashed back toward the caller, X short of it
            var xe = stubX(xb, rT2[r]), ye = dead ? yb + (anchorY(a, b, false) - yb) * 0.15 : short(yb, anchorY(a, b, false));
            seg(lk, xb, yb, xe, ye, false, r, 2);
            xs.push(xe, ye, lk);
          }
        } else if (rEnd[r] === 2) {
          // the request was lost: dashed toward the callee, X just short of
          // its lane (on it when it was dead), where the caller gave up (at
          // most 18 px later: hover for the times)
          var xe2 = stubX(xa, rT2[r]);
          var ye2 = dead ? anchorY(b, a, false) : short(ya, anchorY(b, a, false));
          seg(lk, xa, ya, xe2, ye2, false, r, 2);
          xs.push(xe2, ye2, lk);
        } else {
          // still in flight when the trace ended: a short dotted stub
          var xe3 = stubX(xa, rEnd[r] === 1 ? rT2[r] : TMAX);
          seg('flight', xa, ya, xe3, ya + (anchorY(b, a, false) - ya) * 0.25, false, r, 0);
        }
      }
      var STY = {
        rv: [MCOLOR.rv, 1.4, null, 0.95], rvR: [MCOLOR.rv, 1, null, 0.6],
        ae: [MCOLOR.ae, 1.3, null, 0.9], aeR: [MCOLOR.ae, 1, null, 0.5],
        hb: [MCOLOR.hb, 1, null, 0.8], hbR: [MCOLOR.hb, 0.8, null, 0.5],
        is: [MCOLOR.is, 1.6, null, 0.95], isR: [MCOLOR.is, 1, null, 0.6],
        other: [MCOLOR.other, 1.2, null, 0.9], otherR: [MCOLOR.other, 1, null, 0.55],
        late: [LATE_COLOR, 1.8, null, 0.95],
        lost: [LOST_COLOR, 1.4, [5, 3], 0.95], dead: [DEAD_COLOR, 1.4, [5, 3], 0.9],
        cut: [CUT_COLOR, 1, [2, 3], 0.75],
        flight: ['#7f8c8d', 1, [1, 3], 0.8]
      };
      var order = ['hbR', 'hb', 'cut', 'aeR', 'otherR', 'rvR', 'isR', 'ae', 'other', 'is', 'rv', 'late', 'flight', 'dead', 'lost'];
      // many dropped RPCs in view: lighter, so that they do not hide the lanes
      if (styles.lost && styles.lost.length > 4 * 120) { STY.lost = [LOST_COLOR, 1, [4, 3], 0.6]; }
      order.forEach(function (key) {
        var pts = styles[key];
        if (!pts) { return; }
        var st = STY[key];
        ctx.strokeStyle = st[0];
        ctx.fillStyle = st[0];
        ctx.lineWidth = st[1];
        ctx.globalAlpha = st[3];
        ctx.setLineDash(st[2] || []);
        ctx.beginPath();
        for (var z = 0; z < pts.length; z += 4) { ctx.moveTo(pts[z], pts[z + 1]); ctx.lineTo(pts[z + 2], pts[z + 3]); }
        ctx.stroke();
        ctx.setLineDash([]);
        var hd = heads[key];
        if (hd) {
          ctx.beginPath();
          for (z = 0; z < hd.length; z += 4) { head(hd[z], hd[z + 1], hd[z + 2], hd[z + 3]); }
          ctx.fill();
        }
        ctx.globalAlpha = 1;
      });
      for (var w = 0; w < xs.length; w += 3) {
        var xk = xs[w + 2];
        ctx.strokeStyle = xk === 'dead' ? DEAD_COLOR : xk === 'cut' ? CUT_COLOR : LOST_COLOR;
        ctx.lineWidth = xk === 'cut' ? 1.4 : 2;
        xmark(xs[w], xs[w + 1], xk === 'cut' ? 2.5 : 3.5);
      }
      return drawn;
    }
    function short(y0, y1) { return y1 + (y0 < y1 ? -10 : 10) * Math.min(1, Math.abs(y1 - y0) / 30); }
    function stubX(x, tEnd) { return x + Math.max(4, Math.min(18, xOf(tEnd) - x)); }
    function head(xa, ya, xb, yb) {
      var dx = xb - xa, dy = yb - ya, len = Math.sqrt(dx * dx + dy * dy);
      if (len < 12) { return; }
      var ux = dx / len, uy = dy / len, s = 6;
      ctx.moveTo(xb, yb);
      ctx.lineTo(xb - ux * s - uy * s * 0.45, yb - uy * s + ux * s * 0.45);
      ctx.lineTo(xb - ux * s + uy * s * 0.45, yb - uy * s - ux * s * 0.45);
      ctx.closePath();
    }
    // Density bins: RPCs sent from lane a to lane b within BIN pixels are one stroke.
    function drawBins(list) {
      if (!list.length) { return 0; }
      var BIN = 8, map = new Map(), q, key, b;
      for (q = 0; q < list.length; q++) {
        var r = list[q];
        var bin = Math.floor((xOf(rT0[r]) - X0) / BIN);
        key = (bin * 1024 + rFrom[r]) * 1024 + rTo[r];
        b = map.get(key);
        if (!b) { b = {bin: bin, a: rFrom[r], to: rTo[r], n: 0, lost: 0, cut: 0, hb: 0, m: {}, first: r, last: r}; map.set(key, b); }
        b.n++;
        b.last = r;
        if (rLost[r] === 1 || rLost[r] === 3) { b.lost++; }
        if (rLost[r] === 2) { b.cut++; }
        if (rHB[r]) { b.hb++; }
        b.m[rM[r]] = (b.m[rM[r]] || 0) + 1;
      }
      var maxN = 3;
      map.forEach(function (bb) { maxN = Math.max(maxN, bb.n); });
      function level(k) { return Math.min(7, Math.floor(Math.sqrt(k / maxN) * 7.999)); }
      var levels = {};
      map.forEach(function (bb) {
        var best = 0, bm = -1, mk;
        for (mk in bb.m) { if (bb.m[mk] > best) { best = bb.m[mk]; bm = +mk; } }
        var mc = MCLS[bm];
        var color = mc === 'ae' && bb.hb * 2 > bb.n ? 'hb' : mc;
        var lvl = level(bb.n);
        var xa = X0 + bb.bin * BIN + 0.5, xb = xa + BIN - 1.5;
        var ya = anchorY(bb.a, bb.to, true), yb = anchorY(bb.to, bb.a, false);
        bucketStyle(levels, color + ':' + lvl).push(xa, ya, xb, yb);
        if (bb.lost) { bucketStyle(levels, 'lost:' + level(bb.lost)).push(xa, ya, xb, yb); }
        if (bb.cut) { bucketStyle(levels, 'cut:' + level(bb.cut)).push(xa, ya, xb, yb); }
        bb.method = bm;
        hitSeg({type: 'bin', bin: bb}, xa, ya, xb, yb);
      });
      Object.keys(levels).forEach(function (k2) {
        var parts = k2.split(':'), lv = +parts[1], pts = levels[k2];
        ctx.strokeStyle = parts[0] === 'lost' ? LOST_COLOR : parts[0] === 'cut' ? CUT_COLOR : MCOLOR[parts[0]];
        ctx.globalAlpha = (parts[0] === 'lost' ? 0.12 : 0.06) + lv * 0.05;
        ctx.lineWidth = parts[0] === 'lost' ? 2 : 1.2;
        ctx.beginPath();
        for (var z = 0; z < pts.length; z += 4) { ctx.moveTo(pts[z], pts[z + 1]); ctx.lineTo(pts[z + 2], pts[z + 3]); }
        ctx.stroke();
      });
      ctx.globalAlpha = 1;
      return map.size;
    }

    function drawGutter(L) {
      ctx.fillStyle = '#ffffff';
      ctx.fillRect(0, L.y, X0 - 2, LH - 1);
      ctx.fillStyle = '#1e2630';
      ctx.font = 'bold 15px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
      ctx.textBaseline = 'middle';
      ctx.fillText('S' + L.s, 8, L.yc);
      var sw = ctx.measureText('S' + L.s).width;
      var tv = Math.max(view.t0, TMIN), lf = null;
      for (var z = 0; z < L.lives.length; z++) {
        if (L.lives[z].t0 <= tv && tv < L.lives[z].t1) { lf = L.lives[z]; break; }
      }
      var alive = !!lf;
      ctx.font = FONT_S;
      ctx.fillStyle = alive ? '#3a4350' : '#8a94a3';
      ctx.fillText(alive ? '#' + lf.inc : 'dead', 12 + sw, L.yc);
      var sg = null;
      for (var q = L.roles.length - 1; q >= 0; q--) {
        if (L.roles[q].t0 <= Math.max(view.t0, TMIN)) { sg = L.roles[q].t1 >= Math.max(view.t0, TMIN) ? L.roles[q] : null; break; }
      }
      if (sg && alive) {
        ctx.fillStyle = '#56606b';
        ctx.fillText(((sg.role === R_OTHER && sg.name ? sg.name : sg.role === R_PRE ? 'pre-cand.' : sg.role === R_INFERRED ? 'leader?' : sg.role === R_NOTLEADER ? 'not lead.' : ROLE_NAME[sg.role]).slice(0, 9) +
          (sg.term >= 0 ? ' T' + sg.term : '')).slice(0, 14), 8, L.y + 9);
      }
      if (show.progress && LH - 56 >= 12) {
        ctx.fillStyle = '#8a94a3';
        ctx.textAlign = 'right';
        ctx.fillText('idx ' + maxIndex, X0 - 6, L.y + 50);
        ctx.fillText('0', X0 - 6, L.y + LH - 9);
        ctx.textAlign = 'left';
      }
      ctx.fillStyle = '#d0d5db';
      ctx.fillRect(X0 - 1, L.y, 1, LH);
    }

    function drawPin() {
      if (!pin || pin.t < view.t0 || pin.t > view.t1) { return; }
      var x = Math.round(xOf(pin.t)) + 0.5;
      ctx.strokeStyle = '#ff8c00';
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(x, TS_Y);
      ctx.lineTo(x, H);
      ctx.stroke();
    }
    function placeMarker() {
      if (!marker) { return; }
      if (!FAILED || FAIL_T < view.t0 || FAIL_T > view.t1) {
        marker.style.display = 'none';
        return;
      }
      marker.style.display = 'block';
      marker.className = xOf(FAIL_T) > W - 110 ? 'flip' : '';
      marker.style.left = (xOf(FAIL_T) - 1) + 'px';
      marker.style.top = AX_Y + 'px';
      marker.style.height = (H - AX_Y) + 'px';
    }

    function draw() {
      ctx.setTransform(DPR, 0, 0, DPR, 0, 0);
      ctx.clearRect(0, 0, W, H);
      ctx.fillStyle = '#ffffff';
      ctx.fillRect(0, 0, W, H);
      hitReset();
      drawOverview();
      visLanes.forEach(drawLaneBack);
      drawOutside();
      drawAxis();
      drawTester();
      ctx.save();
      ctx.beginPath();
      ctx.rect(X0, TS_Y + TS_H + 1, plotW(), H - TS_Y - TS_H);
      ctx.clip();
      visLanes.forEach(drawProgress);
      var st = drawRpcs();
      visLanes.forEach(drawLaneMarks);
      drawPin();
      ctx.restore();
      visLanes.forEach(drawGutter);
      placeMarker();
      if (statusEl) {
        statusEl.textContent = 'view ' + view.t0.toFixed(4) + ' – ' + view.t1.toFixed(4) + ' s · ' +
          st.inView + ' RPCs in view: ' + st.drawn + ' arrows' +
          (st.bins ? ', ' + st.aggregated + ' more in ' + st.bins + ' density bins' : '') +
          (orphans ? ' · ' + orphans + ' unpaired legs' : '');
      }
      return st;
    }
    var pending = false;
    function requestDraw() {
      if (pending) { return; }
      pending = true;
      window.requestAnimationFrame(guard(function () {
        pending = false;
        draw();
        if (mouse.inside && !drag) { hover(mouse.x, mouse.y); }
      }));
    }

    /* ------------------------------------------------------------ hover */
    var mouse = {x: 0, y: 0, inside: false};
    var hovered = null;
    function laneState(L, e) {
      var o = {alive: false, life: null, seg: null, insp: -1, applied: null, disc: null, cut: null};
      for (var q = L.lives.length - 1; q >= 0; q--) {
        if (L.lives[q].e0 <= e) { if (e < L.lives[q].e1 || L.lives[q].e1 === N) { o.life = L.lives[q]; o.alive = true; } break; }
      }
      for (q = L.roles.length - 1; q >= 0; q--) {
        var sg = L.roles[q];
        if (sg.e0 <= e) { if (e < sg.e1 || sg.e1 === N || (sg.role === R_INFERRED && e <= sg.e1)) { o.seg = sg; } break; }
      }
      var p = lastLE(L.insp, e);
      if (p >= 0 && (!o.life || L.insp[p] >= o.life.e0)) { o.insp = L.insp[p]; }
      p = lastLE(L.applied.e, e);
      if (p >= 0) { o.applied = L.applied.v[p]; }
      o.disc = segAt(L.disc, e);
      o.cut = segAt(L.cuts, e);
      return o;
    }
    function stateLines(L, e) {
      var st = laneState(L, e), out = [];
      if (!st.alive) { out.push('dead'); return out; }
      var role = st.seg ? (st.seg.role === R_OTHER && st.seg.name ? st.seg.name : ROLE_NAME[st.seg.role]) : 'role unknown';
      var term = st.seg && st.seg.term >= 0 ? ', term ' + st.seg.term : '';
      out.push('incarnation #' + st.life.inc + ' · ' + role + term);
      if (st.insp >= 0) {
        var vf = F(st.insp, 'voted_for');
        out.push('voted for ' + (vf === null || vf === undefined ? 'nobody' : 'S' + vf) + ' · commit ' + str(F(st.insp, 'commit')) +
          ' · applied ' + str(F(st.insp, 'applied')) + ' · snapshot ' + str(F(st.insp, 'snapshot')) +
          ' · last index ' + str(logLast(st.insp)));
        out.push('log ' + runs(F(st.insp, 'log')));
      } else if (st.applied !== null) {
        out.push('applied up to ' + st.applied);
      }
      if (st.disc) { out.push('disconnected since ' + fmtT(st.disc.t0)); }
      if (st.cut) { out.push(cutText(st.cut)); }
      return out;
    }
    function setTip(lines, x, y) {
      tip.textContent = '';
      lines.forEach(function (ln) {
        var d = el('div', typeof ln === 'string' ? '' : ln[1], typeof ln === 'string' ? ln : ln[0]);
        tip.appendChild(d);
      });
      tip.hidden = false;
      var rect = mainEl.getBoundingClientRect();
      var tw = tip.offsetWidth, th = tip.offsetHeight;
      var left = x + 16, top = y + 16;
      if (rect.left + left + tw > window.innerWidth - 8) { left = Math.max(4, x - tw - 12); }
      if (rect.top + top + th > window.innerHeight - 8) { top = Math.max(4 - rect.top, y - th - 12); }
      tip.style.left = left + 'px';
      tip.style.top = top + 'px';
    }
    function rpcLines(r, leg) {
      var out = [], eS = rES[r];
      var tag = rEnd[r] === 2 ? ' (lost)' : rLate[r] ? ' (late)' : rHB[r] ? ' (heartbeat)' : '';
      out.push([METHODS[rM[r]] + ' #' + str(F(eS, 'call')) + tag, 'h']);
      out.push(who(eS) + ' → ' + (rED[r] >= 0 ? who(rED[r]) : 'S' + rTo[r]));
      out.push('sent ' + fmtT(rT0[r]) + (num(F(eS, 'bytes')) ? ' · ' + F(eS, 'bytes') + ' bytes' : ''));
      if (rED[r] >= 0) { out.push('delivered ' + fmtT(rT1[r]) + ' (+' + fmtDur(rT1[r] - rT0[r]) + ')' + (rLate[r] & 1 ? ' late' : '')); }
      if (rEnd[r] === 1) {
        out.push('reply at ' + fmtT(rT2[r]) + ' (round trip ' + fmtDur(rT2[r] - rT0[r]) + ')' + (rLate[r] & 2 ? ' late' : ''));
      } else if (rEnd[r] === 2) {
        out.push(['lost at ' + fmtT(rT2[r]) + ' (after ' + fmtDur(rT2[r] - rT0[r]) + '): ' + str(F(rEE[r], 'reason')) + ' → the caller gets None', 'bad']);
      } else {
        out.push(rED[r] >= 0 ? 'no reply by the end of the trace' : 'not delivered by the end of the trace');
      }
      var args = F(eS, 'data');
      out.push(['args: ' + (typeof args === 'string' ? args : args === null ? '(not recorded: too big)' : '(none)'), 'mono']);
      if (rEnd[r] === 1) {
        var rep = F(rEE[r], 'data');
        out.push(['reply: ' + (typeof rep === 'string' ? rep : '(not recorded)'), 'mono']);
      }
      if (leg === 1) { out.push(['(the reply leg)', 'dim']); }
      return out;
    }
    function nearLogs(L, x) {
      var out = [], arrs = [L.logLo, L.logHi, L.mon, L.other];
      var ta = tOf(x - 8), tb = tOf(x + 8), found = [];
      arrs.forEach(function (arr) {
        for (var q = lowerT(arr, ta); q < arr.length && T[arr[q]] <= tb; q++) { found.push(arr[q]); }
      });
      found.sort(function (p, q2) { return p - q2; });
      var more = found.length > 12 ? found.length - 12 : 0;
      found.slice(0, 12).forEach(function (e) { out.push([lineOf(e), 'mono']); });
      if (more) { out.push(['… ' + more + ' more (zoom in)', 'dim']); }
      return out;
    }
    function hover(x, y) {
      var it = findHit(x, y);
      hovered = it;
      octx.setTransform(DPR, 0, 0, DPR, 0, 0);
      octx.clearRect(0, 0, W, H);
      if (x >= X0 && x <= W - XR && y >= AX_Y) {
        octx.strokeStyle = 'rgba(30,38,48,0.35)';
        octx.setLineDash([3, 3]);
        octx.lineWidth = 1;
        octx.beginPath();
        octx.moveTo(Math.round(x) + 0.5, TS_Y);
        octx.lineTo(Math.round(x) + 0.5, H);
        octx.stroke();
        octx.setLineDash([]);
        var label = tOf(x).toFixed(6) + ' s';
        octx.font = FONT;
        var tw = octx.measureText(label).width + 8;
        octx.fillStyle = '#1e2630';
        octx.fillRect(Math.min(x + 1, W - tw), AX_Y, tw, 15);
        octx.fillStyle = '#ffffff';
        octx.textBaseline = 'middle';
        octx.fillText(label, Math.min(x + 1, W - tw) + 4, AX_Y + 7.5);
      }
      var lines = null;
      var L = laneAtY(y);
      if (it && it.type !== 'lane') {
        octx.strokeStyle = '#000000';
        octx.lineWidth = 3;
        octx.globalAlpha = 0.45;
        octx.beginPath();
        if (it.xa !== undefined) { octx.moveTo(it.xa, it.ya); octx.lineTo(it.xb, it.yb); }
        else { octx.arc(it.x, it.y, it.r + 2, 0, Math.PI * 2); }
        octx.stroke();
        octx.globalAlpha = 1;
        if (it.type === 'rpc') { lines = rpcLines(it.r, it.leg); }
        else if (it.type === 'ev') { lines = [[who(it.e) + ' at ' + fmtT(T[it.e]), 'h'], [describe(it.e), 'mono']]; }
        else if (it.type === 'term') { lines = [['S' + it.L.s + ' enters term ' + it.tr.term, 'h'], 'at ' + fmtT(it.tr.t)]; }
        else if (it.type === 'bin') {
          var bb = it.bin;
          lines = [[bb.n + ' RPCs S' + bb.a + ' → S' + bb.to, 'h'],
            fmtT(rT0[bb.first]) + ' – ' + fmtT(rT0[bb.last]),
            'mostly ' + METHODS[bb.method] + (bb.hb ? ' · ' + bb.hb + ' heartbeats' : '') + (bb.lost ? ' · ' + bb.lost + ' lost' : '') + (bb.cut ? ' · ' + bb.cut + ' unreachable' : ''),
            ['zoom in to see each RPC', 'dim']];
        } else if (it.type === 'net') {
          lines = [[it.row.label, 'h'], fmtT(it.seg.t0) + ' – ' + (it.seg.e1 === N ? 'the end' : fmtT(it.seg.t1))];
        } else if (it.type === 'disc' || it.type === 'cut') {
          lines = [['S' + it.L.s + (it.type === 'disc' ? ' disconnected' : ' ' + cutText(it.seg)), 'h'],
            fmtT(it.seg.t0) + ' – ' + (it.seg.e1 === N ? 'the end' : fmtT(it.seg.t1)),
            it.type === 'cut' ? '↛: cannot send to · ↚: cannot hear from' : 'no RPC reaches it or leaves it'];
        }
      }
      if (!lines && L && x >= X0) {
        var t = tOf(x), e = upperE(t) - 1;
        lines = [['S' + L.s + ' at ' + fmtT(t), 'h']].concat(stateLines(L, Math.max(0, e)));
        var logs = show.logs || show.monitors ? nearLogs(L, x) : [];
        if (logs.length) { lines.push(['nearby:', 'dim']); lines = lines.concat(logs); }
      } else if (!lines && y >= TS_Y && y < TS_Y + TS_H && x >= X0) {
        var tt = tOf(x), arr = tester.checks, p = upperT(arr, tt) - 1;
        lines = [['tester at ' + fmtT(tt), 'h']];
        if (p >= 0) { lines.push('last step: ' + describe(arr[p]) + ' (' + fmtT(T[arr[p]]) + ')'); }
        netRows.forEach(function (row) {
          var on = row.segs.some(function (sg) { return sg.t0 <= tt && tt <= sg.t1; });
          lines.push(row.label + ': ' + (on ? 'on' : 'off'));
        });
      }
      if (lines && !drag) { setTip(lines, x, y); } else { tip.hidden = true; }
    }

    /* ------------------------------------------------------------ detail */
    function pinAt(t, e) {
      pin = {t: t, e: e};
      buildDetail();
      requestDraw();
    }
    function buildDetail() {
      detail.textContent = '';
      if (!pin) { return; }
      var e = Math.max(0, Math.min(N - 1, pin.e));
      var h = el('h2', '', 'At ' + fmtT(pin.t));
      h.appendChild(el('span', 'dim', '  (click the timeline to pin another time)'));
      detail.appendChild(h);
      var tp = upperIdx(tester.checks, e) - 1;
      if (tp >= 0) { detail.appendChild(el('div', 'dim', 'tester: last step ' + describe(tester.checks[tp]) + ' at ' + fmtT(T[tester.checks[tp]]))); }
      // common index window for the log cells
      var anyInsp = lanes.some(function (L) { return L.insp.length > 0; });
      var states = lanes.map(function (L) { return laneState(L, e); });
      var hiIdx = 1;
      states.forEach(function (st) { if (st.insp >= 0) { hiIdx = Math.max(hiIdx, logLast(st.insp) || 0); } });
      var grid2 = el('div', 'dgrid');
      lanes.forEach(function (L, q) {
        var st = states[q];
        var row = el('div', 'drow' + (st.alive ? '' : ' dead'));
        var left = el('div', 'dstate');
        left.appendChild(el('div', 'dname', 'S' + L.s + (st.life ? '#' + st.life.inc : '')));
        stateLines(L, e).forEach(function (ln) { left.appendChild(el('div', '', ln)); });
        row.appendChild(left);
        var mid = el('div', 'dlog');
        if (anyInsp) {
          if (st.insp >= 0 && st.alive) {
            var c = document.createElement('canvas');
            mid.appendChild(c);
            drawLogCells(c, st.insp, hiIdx);
          } else {
            mid.appendChild(el('div', 'dim', st.alive ? 'no inspect record yet' : ''));
          }
        }
        var recent = el('div', 'drecent');
        var p = upperIdx(L.all, e) - 1;
        for (var z = Math.max(0, p - 4); z <= p; z++) { recent.appendChild(el('div', 'mono', lineOf(L.all[z]))); }
        mid.appendChild(recent);
        row.appendChild(mid);
        grid2.appendChild(row);
      });
      detail.appendChild(grid2);
      if (!anyInsp) {
        detail.appendChild(el('p', 'dim', 'This trace has no inspect records: the logs and commit indexes of the ' +
          'servers are not known (only what they applied).'));
      }
    }
    function drawLogCells(c, e, hiIdx) {
      var cw0 = Math.max(300, (detail.clientWidth || 900) - 340);
      var snap = F(e, 'snapshot'), log = F(e, 'log'), commit = F(e, 'commit'), applied = F(e, 'applied');
      snap = num(snap) ? snap : 0;
      var cell = Math.max(2, Math.min(22, Math.floor(cw0 / hiIdx)));
      var first = Math.max(1, hiIdx - Math.floor(cw0 / cell) + 1);
      var w = (hiIdx - first + 1) * cell + 2, h = 30;
      c.style.width = w + 'px';
      c.style.height = h + 'px';
      c.width = Math.round(w * DPR);
      c.height = Math.round(h * DPR);
      var g = c.getContext('2d');
      g.setTransform(DPR, 0, 0, DPR, 0, 0);
      g.font = FONT_S;
      g.textBaseline = 'middle';
      g.textAlign = 'center';
      function cx(i) { return 1 + (i - first) * cell; }
      if (snap >= first) {
        g.fillStyle = '#d9dde3';
        g.fillRect(cx(first), 4, (snap - first + 1) * cell, 16);
        g.fillStyle = '#56606b';
        if ((snap - first + 1) * cell > 60) { g.fillText('snapshot ≤ ' + snap, cx(first) + (snap - first + 1) * cell / 2, 12); }
      }
      var idx = snap + 1;
      if (Array.isArray(log)) {
        log.forEach(function (p) {
          if (!Array.isArray(p) || !num(p[0]) || !num(p[1])) { return; }
          for (var k = 0; k < p[1]; k++, idx++) {
            if (idx < first) { continue; }
            g.fillStyle = termColor(p[0]);
            g.fillRect(cx(idx), 4, Math.max(1, cell - (cell > 4 ? 1 : 0)), 16);
            if (cell >= 14) { g.fillStyle = '#ffffff'; g.fillText(String(p[0]), cx(idx) + cell / 2, 12.5); }
          }
        });
      }
      if (num(commit) && commit >= first - 1) {
        g.fillStyle = '#111111';
        g.fillRect(cx(commit + 1) - 1, 1, 2, 22);
      }
      if (num(applied) && applied >= first) {
        g.fillStyle = '#2ca25f';
        g.fillRect(cx(first), 22, Math.max(0, (applied - first + 1) * cell), 3);
      }
      g.textAlign = 'left';
      g.fillStyle = '#56606b';
      if (first > 1) { g.fillText('… ' + first, 2, 27); }
    }

    /* ------------------------------------------------------------ input */
    var drag = null;
    function localXY(ev) {
      var rect = cv.getBoundingClientRect();
      return [ev.clientX - rect.left, ev.clientY - rect.top];
    }
    cv.addEventListener('mousedown', guard(function (ev) {
      if (ev.button !== 0) { return; }
      var p = localXY(ev);
      drag = {x: p[0], y: p[1], t0: view.t0, t1: view.t1, moved: false,
        mode: p[1] < AX_Y ? 'overview' : ev.shiftKey ? 'brush' : 'pan'};
      if (drag.mode === 'overview') { overviewTo(p[0]); }
      ev.preventDefault();
    }));
    function overviewTo(x) {
      var t = TMIN + (x - X0) / (plotW() - 1) * (TMAX - TMIN), span = view.t1 - view.t0;
      setView(t - span / 2, t + span / 2);
    }
    window.addEventListener('mousemove', guard(function (ev) {
      var p = localXY(ev);
      mouse.x = p[0];
      mouse.y = p[1];
      mouse.inside = p[0] >= 0 && p[1] >= 0 && p[0] < W && p[1] < H;
      if (drag) {
        var dx = p[0] - drag.x;
        if (Math.abs(dx) > 3 || Math.abs(p[1] - drag.y) > 3) { drag.moved = true; }
        if (drag.mode === 'pan' && drag.moved) {
          var dt = dx * (drag.t1 - drag.t0) / plotW();
          setView(drag.t0 - dt, drag.t1 - dt);
        } else if (drag.mode === 'overview') {
          overviewTo(p[0]);
        } else if (drag.mode === 'brush') {
          octx.setTransform(DPR, 0, 0, DPR, 0, 0);
          octx.clearRect(0, 0, W, H);
          octx.fillStyle = 'rgba(31,111,209,0.15)';
          octx.fillRect(Math.min(drag.x, p[0]), TS_Y, Math.abs(dx), H - TS_Y);
        }
        tip.hidden = true;
        return;
      }
      if (mouse.inside) { hover(p[0], p[1]); } else if (!tip.hidden) {
        tip.hidden = true;
        octx.clearRect(0, 0, W, H);
      }
    }));
    window.addEventListener('mouseup', guard(function (ev) {
      if (!drag) { return; }
      var d = drag, p = localXY(ev);
      drag = null;
      if (d.mode === 'brush' && Math.abs(p[0] - d.x) > 3) {
        var ta = tOf(Math.min(d.x, p[0])), tb = tOf(Math.max(d.x, p[0]));
        setView(ta, tb);
      } else if (d.mode === 'pan' && !d.moved && p[0] >= X0) {
        var t = tOf(p[0]);
        pinAt(t, upperE(t) - 1);
      }
    }));
    cv.addEventListener('mouseleave', guard(function () {
      mouse.inside = false;
      if (!drag) { tip.hidden = true; octx.clearRect(0, 0, W, H); }
    }));
    cv.addEventListener('wheel', guard(function (ev) {
      ev.preventDefault();
      var p = localXY(ev);
      var unit = ev.deltaMode === 1 ? 16 : ev.deltaMode === 2 ? 400 : 1;
      var dy = ev.deltaY * unit, dx = ev.deltaX * unit;
      if (Math.abs(dx) > Math.abs(dy)) {
        pan(dx / plotW());
        return;
      }
      var x = Math.max(X0, Math.min(W - XR, p[0]));
      zoomAt(tOf(x), Math.exp(Math.max(-3, Math.min(3, dy * 0.0015))));
    }), {passive: false});
    cv.addEventListener('dblclick', guard(function (ev) {
      var p = localXY(ev);
      zoomAt(tOf(Math.max(X0, p[0])), 0.5);
    }));
    document.addEventListener('keydown', guard(function (ev) {
      var tag = ev.target && ev.target.tagName;
      if (tag === 'INPUT' || tag === 'TEXTAREA' || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
      var k = ev.key, c = (view.t0 + view.t1) / 2;
      if (k === '0' || k === 'f' || k === 'F') { fitAll(); }
      else if (k === 'x' || k === 'X') { zoomFailure(); }
      else if (k === '+' || k === '=') { zoomAt(c, 0.5); }
      else if (k === '-' || k === '_') { zoomAt(c, 2); }
      else if (k === 'ArrowLeft') { pan(-0.2); }
      else if (k === 'ArrowRight') { pan(0.2); }
      else { return; }
      ev.preventDefault();
    }));
    window.addEventListener('resize', guard(function () { relayout(); }));

    var copyBtn = document.getElementById('tl-copy');
    if (copyBtn) {
      copyBtn.addEventListener('click', guard(function () {
        var text = (document.getElementById('tl-replay') || {}).textContent || '';
        var done = function () { copyBtn.textContent = 'copied'; };
        var fallback = function () {
          var range = document.createRange();
          range.selectNodeContents(document.getElementById('tl-replay'));
          var sel = window.getSelection();
          sel.removeAllRanges();
          sel.addRange(range);
          copyBtn.textContent = 'selected: Ctrl+C';
        };
        try {
          if (navigator.clipboard && navigator.clipboard.writeText) {
            navigator.clipboard.writeText(text).then(done, fallback);
          } else { fallback(); }
        } catch (e4) { fallback(); }
      }));
    }
    var fz = document.getElementById('tl-failure-zoom');
    if (fz) { fz.addEventListener('click', guard(zoomFailure)); }

    /* ------------------------------------------------------------ start */
    buildToolbar();
    relayout();
    fitAll();
    pending = false;
    var first = draw();
    var endCheck = -1;
    for (j = tester.checks.length - 1; j >= 0; j--) {
      if (F(tester.checks[j], 'what') === 'end') { endCheck = tester.checks[j]; break; }
    }
    if (FAILED) {
      var fe = tester.fails.length ? tester.fails[0] : upperE(FAIL_T) - 1;
      lanes.forEach(function (L) { if (L.fails.length && (fe < 0 || L.fails[0] < fe)) { fe = L.fails[0]; } });
      pinAt(FAIL_T, Math.max(fe, upperE(FAIL_T - 1e-9) - 1));
    } else if (N) {
      pinAt(endCheck >= 0 ? T[endCheck] : TMAX, endCheck >= 0 ? endCheck : N - 1);
    }
    RT.lanes = visLanes.length;
    RT.events = N;
    RT.arrows = first.arrows;
    RT.failure = FAIL_MSG === null ? null : wellFormed(FAIL_MSG);
    RT.ready = true;
  }
})();
