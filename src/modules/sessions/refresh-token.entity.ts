import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'refresh_tokens' })
export class RefreshTokenEntity {
  /** SHA-256 of the token: the token itself is never stored. */
  @PrimaryColumn({ name: 'token_hash', type: 'bytea' })
  tokenHash!: Buffer;

  @Column({ name: 'session_id', type: 'uuid' })
  sessionId!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'spent_at', type: 'timestamptz', nullable: true })
  spentAt!: Date | null;

  /**
   * The answer given when this token was spent, encrypted with a key derived
   * from the token, so a concurrent refresh within the grace window gets the
   * same answer and a database dump alone reveals nothing.
   */
  @Column({ type: 'bytea', nullable: true })
  replay!: Buffer | null;
}
