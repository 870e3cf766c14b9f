import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: 'user_preferences' })
export class UserPreferencesEntity {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @Column({ name: 'email_notifications', type: 'boolean', default: true })
  emailNotifications!: boolean;

  @Column({ name: 'push_notifications', type: 'boolean', default: true })
  pushNotifications!: boolean;

  @Column({ name: 'sms_notifications', type: 'boolean', default: false })
  smsNotifications!: boolean;

  @Column({ name: 'marketing_emails', type: 'boolean', default: false })
  marketingEmails!: boolean;

  @Column({ type: 'varchar', length: 35, default: 'en' })
  language!: string;

  @Column({ type: 'varchar', length: 64, default: 'UTC' })
  timezone!: string;

  @Column({ name: 'push_token', type: 'varchar', length: 4096, nullable: true })
  pushToken!: string | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
