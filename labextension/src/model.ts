/**
 * What the grading panel shows, worked out from the grading service's answer: pure functions, no DOM.
 *
 * The answer is the service's `api/status` JSON (cnnkit/hub/status.py, `as_json`), passed on by this
 * package's server extension. Fields marked "optional" are not sent by every version of the service: the
 * panel uses them when they are there (docs/hub.md, "The grading panel").
 */

/** One submission as the service saw it. */
export interface IAttemptRow {
  attempt: number | null;
  submitted_at: string;
  status: string;
  score: number | null;
  max_score: number | null;
  penalty: number | null;
  reason: string;
  /** Optional: a same-origin URL that opens this submission's feedback page. */
  feedback_url?: string | null;
}

/** The late rule of the course (optional). */
export interface ILatePenalty {
  per_day: number;
  cap: number;
  grace_minutes: number;
}

/** The service's summary of one student's submissions. */
export interface IStatus {
  counts: string;
  graded: number;
  attempts_left: number | null;
  next_allowed: string | null;
  official: { number: number; score: number } | null;
  max_score: number | null;
  deadline: string | null;
  rows: IAttemptRow[];
  /** Optional: the course's deadline without the student's extension. */
  course_deadline?: string | null;
  /** Optional: how late submissions lose points (null: they do not). */
  late_penalty?: ILatePenalty | null;
}

/**
 * Where the student stands, in the order a submission goes:
 * nothing yet, being graded (submitted, received or grading), graded with the feedback on its way,
 * graded, or not graded (refused by the rules or not gradable).
 */
export type Phase = 'unknown' | 'not-submitted' | 'grading' | 'feedback' | 'graded' | 'not-graded';

/** The phases during which the service is still working on the student's latest submission. */
export const BUSY_PHASES: ReadonlyArray<Phase> = ['grading', 'feedback'];

const PHASE_OF_STATUS: { [status: string]: Phase } = {
  new: 'grading',
  accepted: 'grading',
  graded: 'feedback',
  released: 'graded',
  done: 'graded',
  refused: 'not-graded',
  failed: 'not-graded',
  ignored: 'not-graded'
};

/** How often to ask the service, in milliseconds: often while it works for the student, rarely otherwise. */
export const POLL_BUSY_MS = 3000;
export const POLL_IDLE_MS = 60000;

/**
 * A submission made from this page that the service has not listed yet: the number of rows the service
 * listed before it, and when it was made.
 */
export interface IPending {
  rowsBefore: number;
  at: Date;
}

/** A time the service wrote ("2026-12-15 23:59:00 UTC", or an ISO time in UTC without zone), or null. */
export function parseUtc(text: string | null | undefined): Date | null {
  if (!text || text === 'never') {
    return null;
  }
  const iso = text.trim().replace(' UTC', '').replace(' ', 'T');
  const moment = new Date(iso.endsWith('Z') ? iso : `${iso}Z`);
  return isNaN(moment.getTime()) ? null : moment;
}

/** Points as the service's pages write them: at most two decimals, no trailing zeros. */
export function points(value: number | null | undefined): string {
  if (value === null || value === undefined) {
    return '';
  }
  return String(Number(value.toFixed(2)));
}

/** A time in the student's own time zone, with the zone named. */
export function formatTime(moment: Date): string {
  return moment.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short'
  });
}

/** The rows in the order they were submitted (the service lists them so; sorted again to be sure). */
export function sortedRows(status: IStatus): IAttemptRow[] {
  return [...status.rows].sort((a, b) => a.submitted_at.localeCompare(b.submitted_at));
}

export function latestRow(status: IStatus): IAttemptRow | null {
  const rows = sortedRows(status);
  return rows.length ? rows[rows.length - 1] : null;
}

/** Whether the service has not listed the pending submission yet. */
export function stillPending(status: IStatus, pending: IPending | null): boolean {
  return pending !== null && status.rows.length <= pending.rowsBefore;
}

export function phaseOf(status: IStatus | null, pending: IPending | null): Phase {
  if (status === null) {
    return pending ? 'grading' : 'unknown';
  }
  if (stillPending(status, pending)) {
    return 'grading';
  }
  const latest = latestRow(status);
  if (latest === null) {
    return 'not-submitted';
  }
  return PHASE_OF_STATUS[latest.status] ?? 'unknown';
}

export function isBusy(phase: Phase): boolean {
  return BUSY_PHASES.includes(phase);
}

export function pollInterval(phase: Phase): number {
  return isBusy(phase) ? POLL_BUSY_MS : POLL_IDLE_MS;
}

/** "X of Y" for a score, or the score alone when the maximum is unknown. */
export function scoreText(score: number | null, maxScore: number | null): string {
  return maxScore === null ? points(score) : `${points(score)} of ${points(maxScore)}`;
}

/** The headline (one short sentence) and the line under it. */
export function headline(status: IStatus | null, pending: IPending | null): { title: string; detail: string } {
  const phase = phaseOf(status, pending);
  const latest = status ? latestRow(status) : null;
  if (phase === 'unknown') {
    return { title: 'Grading status unknown', detail: 'Waiting for the grading service to answer.' };
  }
  if (phase === 'not-submitted') {
    return { title: 'Not submitted yet', detail: 'When your notebook is ready, press Submit below.' };
  }
  if (phase === 'grading') {
    if (pending && (status === null || stillPending(status, pending))) {
      return {
        title: 'Being graded',
        detail: `Submitted at ${formatTime(pending.at)}. The grader picks it up in a few seconds.`
      };
    }
    const received = latest ? parseUtc(latest.submitted_at) : null;
    const when = received ? ` at ${formatTime(received)}` : '';
    return latest?.status === 'accepted'
      ? { title: 'Being graded', detail: `Attempt ${latest.attempt} is being graded now.` }
      : { title: 'Being graded', detail: `Received${when}, waiting for the grader.` };
  }
  const row = latest as IAttemptRow;
  if (phase === 'not-graded') {
    return { title: 'Not graded', detail: `Your latest submission was not graded: ${row.reason}` };
  }
  const score = `Graded: ${scoreText(row.score, row.max_score)}`;
  return phase === 'feedback'
    ? { title: score, detail: 'Your feedback is being prepared.' }
    : { title: score, detail: `Attempt ${row.attempt}. Your feedback is ready: press Open feedback.` };
}

/** One line of the panel's details: a label and its value. */
export interface IFact {
  key: string;
  label: string;
  value: string;
}

/** The latest submission that was graded (it has a score), or null. */
export function latestGraded(status: IStatus): IAttemptRow | null {
  const graded = sortedRows(status).filter(row => row.score !== null && row.attempt !== null);
  return graded.length ? graded[graded.length - 1] : null;
}

function deadlineText(status: IStatus, now: Date): string {
  const deadline = parseUtc(status.deadline) as Date;
  let text = formatTime(deadline);
  const courseDeadline = parseUtc(status.course_deadline);
  if (courseDeadline && courseDeadline.getTime() !== deadline.getTime()) {
    text += ` (your extension; the course's deadline is ${formatTime(courseDeadline)})`;
  }
  return now > deadline ? `${text}: passed` : text;
}

/** What the panel lists under the headline, in order. */
export function facts(status: IStatus, now: Date): IFact[] {
  const list: IFact[] = [];
  const official = status.official;
  list.push({
    key: 'official',
    label: 'Official score',
    value: official
      ? `${scoreText(official.score, status.max_score)} (attempt ${official.number}; the ${status.counts} graded attempt counts)`
      : 'none yet'
  });
  const graded = latestGraded(status);
  if (graded) {
    list.push({
      key: 'latest',
      label: 'Latest graded attempt',
      value: `attempt ${graded.attempt}: ${scoreText(graded.score, graded.max_score)}`
    });
    if (graded.penalty) {
      list.push({
        key: 'penalty',
        label: 'Late penalty',
        value: `${points(graded.penalty)} points taken off attempt ${graded.attempt}`
      });
    }
  }
  list.push({
    key: 'attempts-left',
    label: 'Graded attempts left',
    value: status.attempts_left === null ? 'no limit' : String(status.attempts_left)
  });
  if (status.deadline) {
    list.push({ key: 'deadline', label: 'Deadline', value: deadlineText(status, now) });
  }
  const next = parseUtc(status.next_allowed);
  if (next && next > now) {
    list.push({ key: 'next-allowed', label: 'Next graded attempt', value: `from ${formatTime(next)}` });
  }
  return list;
}

/** Graded attempts left once the submissions not yet decided are counted (each may use one up). */
export function attemptsLeftAfterWaiting(status: IStatus, pending: IPending | null): number | null {
  if (status.attempts_left === null) {
    return null;
  }
  const waiting = status.rows.filter(row => row.status === 'new').length + (stillPending(status, pending) ? 1 : 0);
  return Math.max(0, status.attempts_left - waiting);
}

function lateRule(rule: ILatePenalty | null | undefined): string {
  if (rule === undefined) {
    return 'a late penalty may apply';
  }
  if (rule === null || rule.per_day === 0) {
    return 'this course takes no points off for it';
  }
  const percent = (fraction: number) => `${Math.round(fraction * 100)} %`;
  return `it loses ${percent(rule.per_day)} of its score per started day late, at most ${percent(rule.cap)}`;
}

/**
 * What the student should know before submitting now, one sentence each (none: nothing to warn about).
 */
export function submitWarnings(status: IStatus, pending: IPending | null, now: Date): string[] {
  const warnings: string[] = [];
  const left = attemptsLeftAfterWaiting(status, pending);
  const official = status.official ? scoreText(status.official.score, status.max_score) : 'none';
  if (left === 0) {
    warnings.push(
      `You have no graded attempts left: this submission will not be graded. Your official score stays ${official}.`
    );
  } else if (left === 1) {
    warnings.push('This is your last graded attempt: submissions after this one will not be graded.');
  }
  const next = parseUtc(status.next_allowed);
  if (left !== 0 && next && next > now) {
    warnings.push(
      `Your next graded attempt is allowed from ${formatTime(next)}. A submission before then is not graded ` +
        '(and does not use up an attempt).'
    );
  }
  const deadline = parseUtc(status.deadline);
  if (deadline && now > deadline) {
    warnings.push(
      `The deadline (${formatTime(deadline)}) has passed: this submission is late, and ${lateRule(status.late_penalty)}.`
    );
  }
  return warnings;
}

/** The submission whose feedback the panel opens: the latest one the service is done with. */
export function feedbackRow(status: IStatus): IAttemptRow | null {
  const finished = sortedRows(status).filter(row => ['released', 'done', 'refused', 'failed'].includes(row.status));
  return finished.length ? finished[finished.length - 1] : null;
}

/** A short text for the status bar. */
export function statusBarText(status: IStatus | null, pending: IPending | null): string {
  const phase = phaseOf(status, pending);
  if (phase === 'graded' || phase === 'feedback') {
    const row = latestRow(status as IStatus) as IAttemptRow;
    return `Graded: ${scoreText(row.score, row.max_score)}`;
  }
  return {
    unknown: 'Grading: …',
    'not-submitted': 'Not submitted',
    grading: 'Being graded…',
    'not-graded': 'Not graded'
  }[phase];
}
