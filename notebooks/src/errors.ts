/** A problem with a notebook's content or its source regions, reported in one line with how to fix it. */
export class NotebookError extends Error {
  override name = 'NotebookError';
}
