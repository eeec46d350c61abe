/**
 * The requests the panel makes, all to the student's own Jupyter server (ServerConnection adds its
 * XSRF token): the grading status through this package's server extension, and nbgrader's own
 * assignment-list API (the one nbgrader's Assignments tab calls) to fetch, submit and fetch feedback.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IStatus } from './model';

/** What the server extension answers: the course, and the service's summary or why there is none. */
export interface IGradingAnswer {
  course_id: string;
  assignment: string;
  service_page: string;
  status: IStatus | null;
  error: string | null;
}

/** One entry of nbgrader's assignment list (only the fields the panel reads). */
export interface IListedAssignment {
  course_id: string;
  assignment_id: string;
  status: 'released' | 'fetched' | 'submitted' | 'removed';
  path?: string;
  notebooks?: { notebook_id: string; path?: string }[];
  submissions?: {
    timestamp: string;
    has_local_feedback: boolean;
    local_feedback_path: string | null;
    notebooks: { notebook_id: string }[];
  }[];
}

interface INbgraderReply {
  success: boolean;
  value: IListedAssignment[] | string;
}

/** An nbgrader action that did not succeed, with nbgrader's own message. */
export class NbgraderError extends Error {}

async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response);
  }
  return (await response.json()) as T;
}

export function gradingStatus(): Promise<IGradingAnswer> {
  return request<IGradingAnswer>('cnnkit-grading/status');
}

/** nbgrader's list: the lines of the traceback it sends on failure are kept for the message. */
function listOf(reply: INbgraderReply): IListedAssignment[] {
  if (!reply.success) {
    throw new NbgraderError(String(reply.value));
  }
  return reply.value as IListedAssignment[];
}

export async function listAssignments(courseId: string): Promise<IListedAssignment[]> {
  const query = URLExt.objectToQueryString({ course_id: courseId });
  return listOf(await request<INbgraderReply>(`assignments${query}`));
}

async function action(name: string, courseId: string, assignment: string): Promise<IListedAssignment[]> {
  const body = JSON.stringify({ course_id: courseId, assignment_id: assignment });
  return listOf(await request<INbgraderReply>(`assignments/${name}`, { method: 'POST', body }));
}

export function fetchAssignment(courseId: string, assignment: string): Promise<IListedAssignment[]> {
  return action('fetch', courseId, assignment);
}

export function submitAssignment(courseId: string, assignment: string): Promise<IListedAssignment[]> {
  return action('submit', courseId, assignment);
}

export function fetchFeedback(courseId: string, assignment: string): Promise<IListedAssignment[]> {
  return action('fetch_feedback', courseId, assignment);
}

/** The entry of one assignment with one status in nbgrader's list, if there is one. */
export function entry(
  listed: IListedAssignment[],
  assignment: string,
  status: IListedAssignment['status']
): IListedAssignment | undefined {
  return listed.find(item => item.assignment_id === assignment && item.status === status);
}

/** The newest fetched feedback page (a path under the server's root), if any. */
export function newestFeedbackPage(listed: IListedAssignment[], assignment: string): string | null {
  const submitted = entry(listed, assignment, 'submitted');
  const withFeedback = (submitted?.submissions ?? []).filter(
    submission => submission.has_local_feedback && submission.local_feedback_path
  );
  const newest = withFeedback[withFeedback.length - 1];
  if (!newest) {
    return null;
  }
  const notebook = newest.notebooks.find(nb => nb.notebook_id === assignment) ?? newest.notebooks[0];
  return URLExt.join(newest.local_feedback_path as string, `${notebook.notebook_id}.html`);
}
