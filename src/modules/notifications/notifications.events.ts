import type { DomainEvent } from '../../core/messaging/domain-event.js';
import type { NotificationDispatchData, NotificationSuppressedData } from './dto/notification.dto.js';

/** Events the notification gate publishes (names and data are the contract's). */
export const NotificationEvents = {
  dispatch: (data: NotificationDispatchData): DomainEvent<'notification.dispatch', NotificationDispatchData> => ({
    name: 'notification.dispatch',
    userId: data.userId,
    data,
  }),
  suppressed: (data: NotificationSuppressedData): DomainEvent<'notification.suppressed', NotificationSuppressedData> => ({
    name: 'notification.suppressed',
    userId: data.userId,
    data,
  }),
};
