import { Global, Module } from '@nestjs/common';

import { BrokerConnection } from './broker-connection.js';
import { EventPublisher } from './event-publisher.js';
import { OutboxRelay } from './outbox-relay.js';
import { RmqServerStartup } from './rmq-server-startup.js';

@Global()
@Module({
  providers: [BrokerConnection, EventPublisher, OutboxRelay, RmqServerStartup],
  exports: [BrokerConnection, EventPublisher, OutboxRelay, RmqServerStartup],
})
export class MessagingModule {}
