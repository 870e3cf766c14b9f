import { Global, Module } from '@nestjs/common';

import { BrokerConnection } from './broker-connection.js';

@Global()
@Module({ providers: [BrokerConnection], exports: [BrokerConnection] })
export class MessagingModule {}
