// Reference (c): a bare amqplib RPC echo server, the floor of what a
// request/response round trip through RabbitMQ costs on this machine. It
// consumes its own queue with the same prefetch and manual acknowledgement as
// the service, and answers each Nest request packet ({ pattern, data, id })
// with the data itself in Nest's reply format ({ response, isDisposed, id }) on
// the caller's reply-to queue, so the same Nest ClientProxy drives both. No
// validation, no handler, no logging.
import amqplib from 'amqplib';

const url = process.env.RABBITMQ_URL;
const queue = process.env.QUEUE;
const prefetch = Number(process.env.PREFETCH);

// Nagle off, as the service's and the kit's connections have it (small frames, one round trip each).
const connection = await amqplib.connect(url, { noDelay: true });
const channel = await connection.createChannel();
// Durable, as the kit's client options declare every queue they send to (a mismatch is a 406).
await channel.assertQueue(queue, { durable: true });
await channel.prefetch(prefetch);
await channel.consume(
  queue,
  (message) => {
    if (!message) return;
    const { replyTo, correlationId } = message.properties;
    try {
      const packet = JSON.parse(message.content.toString('utf8'));
      if (replyTo) {
        channel.sendToQueue(replyTo, Buffer.from(JSON.stringify({ response: packet.data, isDisposed: true, id: packet.id })), { correlationId });
      }
    } catch {
      /* not JSON: nothing to answer */
    }
    channel.ack(message);
  },
  { noAck: false },
);

process.send?.({ ready: queue });
const stop = () => connection.close().finally(() => process.exit(0));
process.on('disconnect', stop);
process.on('SIGTERM', stop);
