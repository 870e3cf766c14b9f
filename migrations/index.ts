import { CreateUsersAndSessions1763798400000 } from './1763798400000-CreateUsersAndSessions.js';
import { AddLifecycleOutboxPreferences1763884800000 } from './1763884800000-AddLifecycleOutboxPreferences.js';
import { AddAdministration1764633600000 } from './1764633600000-AddAdministration.js';
import { AddRevocationMarkPending1764720000000 } from './1764720000000-AddRevocationMarkPending.js';
import { AddNotificationRequests1764806400000 } from './1764806400000-AddNotificationRequests.js';
import { ShardUserCounts1764892800000 } from './1764892800000-ShardUserCounts.js';
import { CreateApiKeys1764979200000 } from './1764979200000-CreateApiKeys.js';

/** Listed explicitly (not globbed) so the app, the CLI and Jest load them the same way. */
export const migrations = [
  CreateUsersAndSessions1763798400000,
  AddLifecycleOutboxPreferences1763884800000,
  AddAdministration1764633600000,
  AddRevocationMarkPending1764720000000,
  AddNotificationRequests1764806400000,
  ShardUserCounts1764892800000,
  CreateApiKeys1764979200000,
];
