// What the grading panel concludes from the service's answer (src/model.ts, compiled to lib/ by make labextension).
// Run by tests/hub/test_grading_panel.py: node --test labextension/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  facts,
  formatTime,
  headline,
  parseUtc,
  phaseOf,
  pollInterval,
  POLL_BUSY_MS,
  POLL_IDLE_MS,
  statusBarText,
  submitWarnings
} from '../lib/model.js';

const NOW = new Date('2026-12-10T12:00:00Z');

function row(fields) {
  return {
    attempt: 1,
    submitted_at: '2026-12-10 11:00:00.000001',
    status: 'done',
    score: 120,
    max_score: 150,
    penalty: 0,
    reason: '',
    ...fields
  };
}

function summary(fields = {}) {
  return {
    counts: 'last',
    graded: 0,
    attempts_left: null,
    next_allowed: null,
    official: null,
    max_score: null,
    deadline: null,
    rows: [],
    ...fields
  };
}

test('times the service writes are read as UTC', () => {
  assert.equal(parseUtc('2026-12-15 23:59:00 UTC').toISOString(), '2026-12-15T23:59:00.000Z');
  assert.equal(parseUtc('2026-12-10 11:00:00.250000').toISOString(), '2026-12-10T11:00:00.250Z');
  assert.equal(parseUtc('never'), null);
  assert.equal(parseUtc(null), null);
  assert.equal(parseUtc('not a time'), null);
});

test('each service status has its phase, the latest submission decides', () => {
  const phases = { new: 'grading', accepted: 'grading', graded: 'feedback', released: 'graded', done: 'graded',
    refused: 'not-graded', failed: 'not-graded', ignored: 'not-graded' };
  for (const [status, phase] of Object.entries(phases)) {
    assert.equal(phaseOf(summary({ rows: [row({ status })] }), null), phase, status);
  }
  const older = row({ status: 'done', submitted_at: '2026-12-10 10:00:00' });
  const newer = row({ status: 'refused', attempt: null, submitted_at: '2026-12-10 11:00:00', reason: 'attempt limit reached' });
  assert.equal(phaseOf(summary({ rows: [newer, older] }), null), 'not-graded');
  assert.equal(phaseOf(summary(), null), 'not-submitted');
  assert.equal(phaseOf(null, null), 'unknown');
});

test('a submission made here counts as being graded until the service lists it', () => {
  const graded = summary({ rows: [row({})] });
  const pending = { rowsBefore: 1, at: NOW };
  assert.equal(phaseOf(graded, pending), 'grading');
  assert.equal(headline(graded, pending).title, 'Being graded');
  assert.equal(statusBarText(graded, pending), 'Being graded…');
  const listed = summary({ rows: [row({}), row({ status: 'new', attempt: null, submitted_at: '2026-12-10 12:00:00' })] });
  assert.equal(phaseOf(listed, pending), 'grading');
  assert.equal(phaseOf(summary({ rows: [row({}), row({ submitted_at: '2026-12-10 12:00:00' })] }), pending), 'graded');
});

test('the poll is quick while the service works for the student, slow otherwise', () => {
  assert.equal(pollInterval('grading'), POLL_BUSY_MS);
  assert.equal(pollInterval('feedback'), POLL_BUSY_MS);
  for (const phase of ['graded', 'not-graded', 'not-submitted', 'unknown']) {
    assert.equal(pollInterval(phase), POLL_IDLE_MS, phase);
  }
  assert.ok(POLL_BUSY_MS <= 5000 && POLL_IDLE_MS >= 30000);
});

test('the headline gives the score, or the reason a submission was not graded', () => {
  assert.equal(headline(summary({ rows: [row({ score: 117.5 })] }), null).title, 'Graded: 117.5 of 150');
  assert.match(headline(summary({ rows: [row({ status: 'graded' })] }), null).detail, /feedback is being prepared/);
  const refused = row({ status: 'refused', attempt: null, score: null, reason: 'attempt limit reached' });
  const words = headline(summary({ rows: [refused] }), null);
  assert.equal(words.title, 'Not graded');
  assert.match(words.detail, /attempt limit reached/);
  assert.equal(headline(summary({ rows: [row({ status: 'accepted', attempt: 2 })] }), null).detail,
    'Attempt 2 is being graded now.');
});

test('the facts: official score, latest attempt and its late penalty, attempts left, deadline, next attempt', () => {
  const status = summary({
    counts: 'best',
    official: { number: 1, score: 140 },
    max_score: 150,
    attempts_left: 1,
    deadline: '2026-12-09 23:59:00 UTC',
    course_deadline: '2026-12-08 23:59:00 UTC',
    next_allowed: '2026-12-10 13:00:00 UTC',
    rows: [row({ attempt: 1, score: 140 }), row({ attempt: 2, score: 108, penalty: 12, submitted_at: '2026-12-10 11:30:00' })]
  });
  const byKey = Object.fromEntries(facts(status, NOW).map(fact => [fact.key, fact.value]));
  assert.equal(byKey.official, '140 of 150 (attempt 1; the best graded attempt counts)');
  assert.equal(byKey.latest, 'attempt 2: 108 of 150');
  assert.equal(byKey.penalty, '12 points taken off attempt 2');
  assert.equal(byKey['attempts-left'], '1');
  assert.equal(byKey.deadline,
    `${formatTime(parseUtc(status.deadline))} (your extension; the course's deadline is ` +
    `${formatTime(parseUtc(status.course_deadline))}): passed`);
  assert.equal(byKey['next-allowed'], `from ${formatTime(parseUtc(status.next_allowed))}`);
  const none = Object.fromEntries(facts(summary(), NOW).map(fact => [fact.key, fact.value]));
  assert.deepEqual(none, { official: 'none yet', 'attempts-left': 'no limit' });
});

test('no warning before an ordinary submission', () => {
  assert.deepEqual(submitWarnings(summary({ attempts_left: 3, deadline: '2026-12-20 00:00:00 UTC' }), null, NOW), []);
  assert.deepEqual(submitWarnings(summary(), null, NOW), []);
});

test('the last graded attempt is announced, counting submissions not yet decided', () => {
  const [last] = submitWarnings(summary({ attempts_left: 1 }), null, NOW);
  assert.match(last, /last graded attempt/);
  const waiting = summary({ attempts_left: 2, rows: [row({ status: 'new', attempt: null })] });
  assert.match(submitWarnings(waiting, null, NOW)[0], /last graded attempt/);
  const pending = { rowsBefore: 0, at: NOW };
  assert.match(submitWarnings(summary({ attempts_left: 1 }), pending, NOW)[0], /no graded attempts left/);
});

test('no attempts left: the submission will not be graded and the official score stays', () => {
  const status = summary({ attempts_left: 0, official: { number: 1, score: 150 }, max_score: 150 });
  const warnings = submitWarnings(status, null, NOW);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /will not be graded/);
  assert.match(warnings[0], /stays 150 of 150/);
});

test('too early: the time of the next graded attempt is given', () => {
  const status = summary({ attempts_left: 3, next_allowed: '2026-12-10 12:30:00 UTC' });
  const warnings = submitWarnings(status, null, NOW);
  assert.equal(warnings.length, 1);
  assert.ok(warnings[0].includes(formatTime(parseUtc('2026-12-10 12:30:00 UTC'))), warnings[0]);
  assert.deepEqual(submitWarnings(status, null, new Date('2026-12-10T12:31:00Z')), []);
});

test('past the deadline: late, with the course\'s penalty when the service gives it', () => {
  const late = summary({ deadline: '2026-12-10 11:59:00 UTC' });
  assert.match(submitWarnings(late, null, NOW)[0], /has passed: this submission is late, and a late penalty may apply/);
  const rule = { ...late, late_penalty: { per_day: 0.1, cap: 0.5, grace_minutes: 0 } };
  assert.match(submitWarnings(rule, null, NOW)[0], /loses 10 % of its score per started day late, at most 50 %/);
  assert.match(submitWarnings({ ...late, late_penalty: null }, null, NOW)[0], /takes no points off/);
  assert.deepEqual(submitWarnings(late, null, new Date('2026-12-10T11:58:00Z')), []);
});

test('every reason at once: last attempt, too early, late', () => {
  const status = summary({ attempts_left: 1, next_allowed: '2026-12-10 13:00:00 UTC', deadline: '2026-12-10 00:00:00 UTC' });
  assert.equal(submitWarnings(status, null, NOW).length, 3);
});
