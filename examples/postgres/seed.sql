-- Sample warehouse for examples/postgres: 5,000 users, deterministic.
drop table if exists app_users;
create table app_users (
  user_id      bigint primary key,
  email        text not null,
  plan         text not null,
  last_seen_at timestamp not null
);
insert into app_users
select g,
       'user' || g || '@example.com',
       case when g % 3 = 0 then 'pro' else 'free' end,
       timestamp '2026-09-01' + (g % 90) * interval '1 day'
from generate_series(1, 5000) as g;
