/**
 * The course kit's grading panel for JupyterLab (docs/hub.md, "The grading panel").
 *
 * A student sees, without reloading, where their latest submission stands (being graded, graded with
 * its score, or not graded and why), their official score, attempts left, deadline and next graded
 * attempt, and can get the assignment, submit it (warned first when it matters) and open the feedback.
 * The panel opens by itself on the student's first start, with nbgrader's assignment list beside it; `make hub`
 * switches it off for graders.
 */

import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IStateDB } from '@jupyterlab/statedb';
import { IStatusBar } from '@jupyterlab/statusbar';

import { GradingController } from './controller';
import { GradingPanel, PANEL_ID, gradingIcon } from './panel';
import { GradingStatusItem } from './statusbar';

const PLUGIN_ID = '@cnnkit/grading-panel:plugin';
/** Kept in the workspace's state once the panel was opened for the student the first time. */
const OPENED_ONCE = `${PLUGIN_ID}:opened-once`;

export const commandIDs = {
  open: 'cnnkit-grading:open',
  submit: 'cnnkit-grading:submit'
};

/** nbgrader's own list of the course's assignments (released, fetched, submitted), in the main area. */
const NBGRADER_ASSIGNMENT_LIST = 'nbgrader:open-assignment-list';

/**
 * On the student's first start, the panel and nbgrader's assignment list rather than an empty file browser
 * and the Launcher (later: as they left it). Both are where the assignment is fetched from.
 */
async function openOnFirstStart(app: JupyterFrontEnd, state: IStateDB | null): Promise<void> {
  await app.restored;
  if (state) {
    if (await state.fetch(OPENED_ONCE)) {
      return;
    }
    await state.save(OPENED_ONCE, true);
  }
  app.shell.activateById(PANEL_ID);
  if (app.commands.hasCommand(NBGRADER_ASSIGNMENT_LIST)) {
    await app.commands.execute(NBGRADER_ASSIGNMENT_LIST);
  }
}

/** Save every open document with unsaved changes (nbgrader submits the files as saved on disk). */
async function saveUnsaved(app: JupyterFrontEnd, documents: IDocumentManager): Promise<void> {
  const saving: Promise<void>[] = [];
  for (const widget of app.shell.widgets('main')) {
    const context = documents.contextForWidget(widget);
    if (context && context.model.dirty && !context.model.readOnly) {
      saving.push(context.save());
    }
  }
  await Promise.all(saving);
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: "The student's grading status, score and Submit, in the left sidebar.",
  autoStart: true,
  requires: [IDocumentManager],
  optional: [ILayoutRestorer, IStatusBar, ICommandPalette, IStateDB],
  activate: (
    app: JupyterFrontEnd,
    documents: IDocumentManager,
    restorer: ILayoutRestorer | null,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null,
    state: IStateDB | null
  ) => {
    const controller = new GradingController({
      open: path => app.commands.execute('docmanager:open', { path }),
      saveUnsaved: () => saveUnsaved(app, documents)
    });
    const panel = new GradingPanel(controller);
    app.shell.add(panel, 'left', { rank: 50 });
    restorer?.add(panel, PANEL_ID);

    const openPanel = () => app.shell.activateById(PANEL_ID);
    app.commands.addCommand(commandIDs.open, {
      label: 'Grading Panel',
      caption: 'Your submissions, their grading and your score',
      icon: gradingIcon,
      execute: openPanel
    });
    app.commands.addCommand(commandIDs.submit, {
      label: 'Submit the Assignment for Grading',
      execute: () => {
        openPanel();
        return controller.submit();
      }
    });
    palette?.addItem({ command: commandIDs.open, category: 'Grading' });
    palette?.addItem({ command: commandIDs.submit, category: 'Grading' });

    statusBar?.registerStatusItem(`${PLUGIN_ID}:status`, {
      item: new GradingStatusItem(controller, openPanel),
      align: 'left',
      rank: 4
    });
    void openOnFirstStart(app, state);
  }
};

export default plugin;
