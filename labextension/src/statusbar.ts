/**
 * The status-bar item: where the latest submission stands, in two or three words; a click opens the panel.
 */

import { Widget } from '@lumino/widgets';

import { GradingController } from './controller';
import { phaseOf, statusBarText } from './model';

export class GradingStatusItem extends Widget {
  constructor(controller: GradingController, openPanel: () => void) {
    super({ node: document.createElement('button') });
    this._controller = controller;
    this.addClass('cnnkit-GradingStatus');
    this.node.setAttribute('type', 'button');
    this.node.title = 'Grading: open the grading panel';
    this.node.addEventListener('click', openPanel);
    controller.changed.connect(this.render, this);
    this.render();
  }

  render(): void {
    const { status, pending } = this._controller;
    this.node.dataset.phase = phaseOf(status, pending);
    this.node.textContent = statusBarText(status, pending);
  }

  dispose(): void {
    this._controller.changed.disconnect(this.render, this);
    super.dispose();
  }

  private _controller: GradingController;
}
