/**
 * The grading panel's state and actions: it polls the grading status, and gets, submits and opens
 * feedback through nbgrader's own API. The panel and the status-bar item only draw what it holds.
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import * as api from './api';
import { IPending, IStatus, feedbackRow, phaseOf, pollInterval, stillPending, submitWarnings } from './model';

/** How long the poll waits at most between tries while the grading service does not answer. */
const MAX_BACKOFF_MS = 5 * 60 * 1000;

/** What the controller needs from JupyterLab: open a file, save the student's unsaved work. */
export interface IWorkspace {
  open(path: string): Promise<unknown>;
  saveUnsaved(): Promise<unknown>;
}

/** Whether the student has the assignment: not yet listed, to get, got, or unknown (nbgrader failed). */
export type Holding = 'loading' | 'released' | 'fetched' | 'none' | 'unknown';

export class GradingController {
  constructor(workspace: IWorkspace) {
    this._workspace = workspace;
    this._poll = new Poll({
      name: 'cnnkit-grading:status',
      factory: () => this._refreshStatus(),
      frequency: { interval: pollInterval('unknown'), backoff: true, max: MAX_BACKOFF_MS },
      standby: 'when-hidden'
    });
    document.addEventListener('visibilitychange', this._onVisibility);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get answer(): api.IGradingAnswer | null {
    return this._answer;
  }

  get status(): IStatus | null {
    return this._answer?.status ?? null;
  }

  get pending(): IPending | null {
    return this._pending;
  }

  get holding(): Holding {
    return this._holding;
  }

  /** An action under way, in words ("Submitting…"), or null. */
  get working(): string | null {
    return this._working;
  }

  /** The last thing that went wrong, for the student, or null. */
  get problem(): string | null {
    return this._problem;
  }

  /** Why the latest status is not known (the server or the service did not answer), or null. */
  get unreachable(): string | null {
    return this._unreachable ?? this._answer?.error ?? null;
  }

  dispose(): void {
    document.removeEventListener('visibilitychange', this._onVisibility);
    this._poll.dispose();
  }

  /** Ask the service and nbgrader again now (the panel was shown, or the student asked). */
  refresh(): void {
    void this._poll.refresh();
    void this._refreshHolding();
  }

  async getAssignment(): Promise<void> {
    await this._act('Getting the assignment…', async () => {
      const { course_id, assignment } = this._course();
      this._holdingFrom(await api.fetchAssignment(course_id, assignment));
      if (this._holding !== 'fetched') {
        throw new Error('nbgrader did not fetch it. Try the Assignments tab (Nbgrader menu, Assignment List).');
      }
      await this.openNotebook();
    });
  }

  async openNotebook(): Promise<void> {
    const fetched = api.entry(this._listed, this._course().assignment, 'fetched');
    const notebook = fetched?.notebooks?.[0];
    if (notebook?.path) {
      await this._workspace.open(notebook.path);
    }
  }

  /** Save unsaved work, warn when there is something to know, then submit through nbgrader. */
  async submit(): Promise<void> {
    await this._act('Preparing to submit…', async () => {
      const { course_id, assignment } = this._course();
      await this._workspace.saveUnsaved();
      const answer = await api.gradingStatus();
      this._holdingFrom(await api.listAssignments(course_id));
      if (this._holding !== 'fetched') {
        throw new Error('There is nothing to submit yet: press "Get the assignment" first.');
      }
      if (!(await this._confirm(answer.status))) {
        return;
      }
      this._working = 'Submitting…';
      this._changed.emit();
      const rowsBefore = (answer.status ?? this.status)?.rows.length ?? 0;
      this._holdingFrom(await api.submitAssignment(course_id, assignment));
      this._pending = { rowsBefore, at: new Date() };
      this._setInterval();
      void this._poll.refresh();
    });
  }

  /** The latest feedback: the service's page for it when the service names one, else nbgrader's copy in Lab. */
  async openFeedback(): Promise<void> {
    const row = this.status ? feedbackRow(this.status) : null;
    const url = row?.feedback_url ? sameOrigin(row.feedback_url) : null;
    if (url) {
      window.open(url, '_blank', 'noopener');
      return;
    }
    await this._act('Fetching your feedback…', async () => {
      const { course_id, assignment } = this._course();
      const listed = await api.fetchFeedback(course_id, assignment);
      this._holdingFrom(listed);
      const page = api.newestFeedbackPage(listed, assignment);
      if (!page) {
        throw new Error('There is no feedback to open yet: it comes a little after grading.');
      }
      await this._workspace.open(page);
    });
  }

  /** The service's page of all the student's submissions (same origin only), or null. */
  servicePage(): string | null {
    return this._answer?.service_page ? sameOrigin(this._answer.service_page) : null;
  }

  private _course(): { course_id: string; assignment: string } {
    if (!this._answer) {
      throw new Error('The grading panel has not heard from this server yet: try again in a few seconds.');
    }
    return { course_id: this._answer.course_id, assignment: this._answer.assignment };
  }

  private async _refreshStatus(): Promise<void> {
    let answer: api.IGradingAnswer;
    try {
      answer = await api.gradingStatus();
    } catch (error) {
      this._unreachable = `This server gives no grading status (${describe(error)}): ask your instructor.`;
      this._changed.emit();
      throw error;
    }
    const first = this._answer === null;
    this._unreachable = null;
    // While the service does not answer, the last summary it gave stays on show, with the reason beside it.
    this._answer = answer.status || !this._answer ? answer : { ...answer, status: this._answer.status };
    if (answer.status && !stillPending(answer.status, this._pending)) {
      this._pending = null;
    }
    this._setInterval();
    this._changed.emit();
    if (first) {
      void this._refreshHolding();
    }
    if (answer.error) {
      throw new Error(answer.error); // the poll backs off while the service does not answer
    }
  }

  private async _refreshHolding(): Promise<void> {
    if (!this._answer) {
      return;
    }
    try {
      this._holdingFrom(await api.listAssignments(this._answer.course_id));
    } catch (error) {
      this._holding = 'unknown';
      console.error('cnnkit grading panel: nbgrader could not list the assignments', error);
    }
    this._changed.emit();
  }

  private _holdingFrom(listed: api.IListedAssignment[]): void {
    const assignment = this._course().assignment;
    this._listed = listed;
    this._holding = api.entry(listed, assignment, 'fetched')
      ? 'fetched'
      : api.entry(listed, assignment, 'released')
        ? 'released'
        : 'none';
  }

  private _setInterval(): void {
    const interval = pollInterval(phaseOf(this.status, this._pending));
    if (this._poll.frequency.interval !== interval) {
      this._poll.frequency = { ...this._poll.frequency, interval };
    }
  }

  /** Whether to go on: true at once when there is nothing to warn about, else the student's answer. */
  private async _confirm(status: IStatus | null): Promise<boolean> {
    const warnings = status
      ? submitWarnings(status, this._pending, new Date())
      : ['The grading service does not answer right now, so this panel cannot tell you your attempts left.'];
    if (warnings.length === 0) {
      return true;
    }
    const result = await showDialog({
      title: 'Before you submit',
      body: warningList(warnings),
      buttons: [Dialog.cancelButton({ label: 'Cancel' }), Dialog.warnButton({ label: 'Submit anyway' })],
      defaultButton: 0
    });
    return result.button.accept;
  }

  /** Run one action at a time; its failure becomes the panel's problem, in words. */
  private async _act(words: string, work: () => Promise<void>): Promise<void> {
    if (this._working) {
      return;
    }
    this._working = words;
    this._problem = null;
    this._changed.emit();
    try {
      await work();
    } catch (error) {
      this._problem = describe(error);
    } finally {
      this._working = null;
      this._changed.emit();
    }
  }

  private _onVisibility = (): void => {
    if (!document.hidden) {
      void this._poll.refresh();
    }
  };

  private _workspace: IWorkspace;
  private _poll: Poll;
  private _changed = new Signal<this, void>(this);
  private _answer: api.IGradingAnswer | null = null;
  private _pending: IPending | null = null;
  private _listed: api.IListedAssignment[] = [];
  private _holding: Holding = 'loading';
  private _working: string | null = null;
  private _problem: string | null = null;
  private _unreachable: string | null = null;
}

/** The dialog's body: one paragraph per warning, then the question. */
function warningList(warnings: string[]): Widget {
  const body = new Widget();
  body.addClass('cnnkit-GradingWarnings');
  const list = document.createElement('ul');
  for (const warning of warnings) {
    const item = document.createElement('li');
    item.textContent = warning;
    list.appendChild(item);
  }
  const question = document.createElement('p');
  question.textContent = 'Submit anyway?';
  body.node.append(list, question);
  return body;
}

/** A URL on this page's own origin (a path such as /services/grader/), or null for anything else. */
export function sameOrigin(url: string): string | null {
  try {
    const parsed = new URL(url, window.location.origin);
    return parsed.origin === window.location.origin ? parsed.href : null;
  } catch {
    return null;
  }
}

/** An error in words for the student: nbgrader's traceback shortened to its last line. */
function describe(error: unknown): string {
  if (error instanceof api.NbgraderError) {
    const lines = error.message.trim().split('\n');
    return `nbgrader could not do it: ${lines[lines.length - 1]}`;
  }
  return error instanceof Error ? error.message : String(error);
}
