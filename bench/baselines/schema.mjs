/**
 * The baselines' storage: what the brief's host app keeps in PostgreSQL (a messages table with a
 * serial id clients poll after, a unique client id for retries) plus who is in which conversation.
 * Both baselines (polling and socket.io) use exactly this schema and one INSERT per message.
 */
export const BASELINE_SCHEMA = `
create table if not exists conversation_members (
  conversation_id text not null,
  user_id text not null,
  primary key (conversation_id, user_id)
);
create index if not exists conversation_members_user on conversation_members (user_id);
create table if not exists messages (
  seq bigserial primary key,
  id uuid not null default gen_random_uuid(),
  conversation_id text not null,
  sender text not null,
  client_id text not null unique,
  text text not null,
  created_at timestamptz not null default now()
);
create index if not exists messages_conversation_seq on messages (conversation_id, seq);
`;

/**
 * One statement per message: insert only if the sender is a member (a competent endpoint checks
 * membership; doing it in the same statement keeps it at one round trip and one commit).
 */
export const INSERT_MESSAGE = `
insert into messages (conversation_id, sender, client_id, text)
select $1, $2, $3, $4
where exists (select 1 from conversation_members where conversation_id = $1 and user_id = $2)
returning seq::text as seq, id, conversation_id, sender, client_id, text, created_at`;

/** Rows of a conversation newer than a seq, for a member (the polling endpoint). */
export const MESSAGES_AFTER = `
select m.seq::text as seq, m.id, m.conversation_id, m.sender, m.client_id, m.text, m.created_at
from messages m
where m.conversation_id = $1 and m.seq > $2
  and exists (select 1 from conversation_members where conversation_id = $1 and user_id = $3)
order by m.seq
limit $4`;

/** Setup only (not measured): pairs p = 0..P-1 are conversation `c<p>` between users `u<2p>` and `u<2p+1>`. */
export async function seedPairs(client, pairs) {
  await client.query(
    `insert into conversation_members (conversation_id, user_id)
     select 'c' || p, 'u' || (2 * p + k) from generate_series(0, $1::int - 1) p, (values (0), (1)) v(k)
     on conflict do nothing`,
    [pairs],
  );
}
