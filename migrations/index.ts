import { CreateUsersAndSessions1763798400000 } from './1763798400000-CreateUsersAndSessions.js';

/** Listed explicitly (not globbed) so the app, the CLI and Jest load them the same way. */
export const migrations = [CreateUsersAndSessions1763798400000];
