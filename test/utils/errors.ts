import { AppError } from '../../src/core/errors/app-error.js';

/** The AppError a promise rejects with (fails the test if it resolves or rejects with anything else). */
export async function rejectionOf(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}
