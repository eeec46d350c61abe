/**
 * The grading panel in JupyterLab's left sidebar: where the student's submission stands, the facts
 * that matter (official score, attempts left, deadline, ...), and the buttons to get the assignment,
 * submit and open the feedback. Every text from the service goes in through textContent.
 */

import { LabIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { GradingController } from './controller';
import { Phase, facts, headline, isBusy, phaseOf } from './model';

export const PANEL_ID = 'cnnkit-grading-panel';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<path class="jp-icon3" fill="#616161" d="M19 3h-4.2C14.4 1.8 13.3 1 12 1s-2.4.8-2.8 2H5c-1.1 0-2 .9-2 2v14c0 ' +
  '1.1.9 2 2 2h14c1.1 0 2-.9 2-2V5c0-1.1-.9-2-2-2zm-7 0c.6 0 1 .4 1 1s-.4 1-1 1-1-.4-1-1 .4-1 1-1zm-2 14-4-4 ' +
  '1.4-1.4 2.6 2.6 6.6-6.6L18 9l-8 8z"/></svg>';

export const gradingIcon = new LabIcon({ name: 'cnnkit-grading:icon', svgstr: ICON_SVG });

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

function button(label: string, action: string, onClick: () => void, primary = false): HTMLButtonElement {
  const node = element('button', `jp-mod-styled ${primary ? 'jp-mod-accept' : 'jp-mod-reject'} cnnkit-GradingPanel-button`, label);
  node.type = 'button';
  node.dataset.action = action;
  node.addEventListener('click', onClick);
  return node;
}

export class GradingPanel extends Widget {
  constructor(controller: GradingController) {
    super();
    this._controller = controller;
    this.id = PANEL_ID;
    this.addClass('cnnkit-GradingPanel');
    this.title.icon = gradingIcon;
    this.title.caption = 'Grading: your submissions and score';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Grading');

    this._heading = element('h2', 'cnnkit-GradingPanel-heading', 'Grading');
    this._headline = element('div', 'cnnkit-GradingPanel-headline');
    this._headline.setAttribute('role', 'status');
    this._headline.setAttribute('aria-live', 'polite');
    this._title = element('p', 'cnnkit-GradingPanel-title');
    this._detail = element('p', 'cnnkit-GradingPanel-detail');
    this._headline.append(this._title, this._detail);
    this._facts = element('dl', 'cnnkit-GradingPanel-facts');
    this._facts.setAttribute('aria-label', 'Your submissions');

    this._get = button('Get the assignment', 'get', () => void controller.getAssignment(), true);
    this._open = button('Open the notebook', 'open', () => void controller.openNotebook());
    this._submit = button('Submit', 'submit', () => void controller.submit(), true);
    this._feedback = button('Open feedback', 'feedback', () => void controller.openFeedback());
    const actions = element('div', 'cnnkit-GradingPanel-actions');
    actions.append(this._get, this._open, this._submit, this._feedback);

    this._working = element('p', 'cnnkit-GradingPanel-working');
    this._working.setAttribute('role', 'status');
    this._problem = element('p', 'cnnkit-GradingPanel-problem');
    this._problem.setAttribute('role', 'alert');
    this._page = element('a', 'cnnkit-GradingPanel-page', 'All your submissions (grading page, opens a new tab)');
    this._page.target = '_blank';
    this._page.rel = 'noopener noreferrer';

    this.node.append(
      this._heading,
      this._headline,
      this._facts,
      actions,
      this._working,
      this._problem,
      this._page
    );
    controller.changed.connect(this.render, this);
    this.render();
  }

  /** Draw the controller's state. */
  render(): void {
    const controller = this._controller;
    const status = controller.status;
    const phase = phaseOf(status, controller.pending);
    const words = headline(status, controller.pending);
    this.node.dataset.phase = phase;
    this._heading.textContent = controller.answer ? `Grading: ${controller.answer.assignment}` : 'Grading';
    this._title.textContent = words.title;
    this._detail.textContent = controller.unreachable ?? this._startHere(phase) ?? words.detail;
    this._renderFacts();

    const idle = controller.working === null;
    const fetched = controller.holding === 'fetched';
    this._get.hidden = controller.holding !== 'released';
    this._open.hidden = !fetched;
    this._submit.hidden = !fetched && controller.holding !== 'unknown';
    this._submit.disabled = !idle;
    this._submit.textContent = isBusy(phase) ? 'Submit again' : 'Submit';
    this._feedback.hidden = !(phase === 'graded' || phase === 'not-graded');
    for (const node of [this._get, this._open, this._feedback]) {
      node.disabled = !idle;
    }
    this._working.textContent = controller.working ?? '';
    this._problem.textContent = controller.problem ?? '';
    const page = controller.servicePage();
    this._page.hidden = page === null;
    if (page !== null) {
      this._page.href = page;
    }
  }

  dispose(): void {
    this._controller.changed.disconnect(this.render, this);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._controller.refresh();
  }

  /** Before the assignment is fetched, the first step rather than "press Submit". */
  private _startHere(phase: Phase): string | null {
    return phase === 'not-submitted' && this._controller.holding === 'released'
      ? 'Start here: Get the assignment copies the notebook into your folder and opens it.'
      : null;
  }

  private _renderFacts(): void {
    const status = this._controller.status;
    const rows = status ? facts(status, new Date()) : [];
    const nodes: HTMLElement[] = [];
    for (const fact of rows) {
      const term = element('dt', 'cnnkit-GradingPanel-term', fact.label);
      const value = element('dd', 'cnnkit-GradingPanel-value', fact.value);
      value.dataset.fact = fact.key;
      nodes.push(term, value);
    }
    this._facts.replaceChildren(...nodes);
  }

  private _controller: GradingController;
  private _heading: HTMLHeadingElement;
  private _headline: HTMLDivElement;
  private _title: HTMLParagraphElement;
  private _detail: HTMLParagraphElement;
  private _facts: HTMLDListElement;
  private _get: HTMLButtonElement;
  private _open: HTMLButtonElement;
  private _submit: HTMLButtonElement;
  private _feedback: HTMLButtonElement;
  private _working: HTMLParagraphElement;
  private _problem: HTMLParagraphElement;
  private _page: HTMLAnchorElement;
}
