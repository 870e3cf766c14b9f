import { Global, Module } from '@nestjs/common';

import { BrokerConnection } from './broker-connection.js';
import { EventPublisher } from './event-publisher.js';
import { OutboxRelay } from './outbox-relay.js';

@Global()
@Module({ providers: [BrokerConnection, EventPublisher, OutboxRelay], exports: [BrokerConnection, EventPublisher, OutboxRelay] })
export class MessagingModule {}
