-- The relations `dbt build` leaves in warehouse.duckdb for dbt_project/ (dbt-duckdb):
-- the sources it reads (schema raw) and the models it materializes. run.mjs builds
-- warehouse.duckdb from this script, so the example needs no dbt and no binary file.
-- Edit the rows and run the example again to see coho send only the difference.
create schema if not exists raw;
create table raw.customers (user_id varchar, email varchar, lifetime_value integer, opted_in boolean, last_seen date, churned boolean);
insert into raw.customers values
  ('u-001', 'ada@example.com',     4200, true,  current_date - 2,  false),
  ('u-002', 'grace@example.com',   1800, true,  current_date - 40, false),
  ('u-003', 'alan@example.com',     950, false, current_date - 5,  false),
  ('u-004', 'edsger@example.com',  1000, true,  current_date - 1,  false),
  ('u-005', 'barbara@example.com',  120, true,  current_date - 90, true),
  ('u-006', 'donald@example.com',  7300, false, current_date - 3,  false),
  ('u-007', 'frances@example.com',  300, true,  current_date - 12, false),
  ('u-008', 'john@example.com',    2500, false, current_date - 60, true);
create table raw.events (user_id varchar, name varchar, occurred_at timestamp);
insert into raw.events values ('u-001', 'purchase', now()), ('u-004', 'login', now());

-- model.shop.customers (view) and model.shop.users_vip (table); stg_events is ephemeral: no relation.
create view main.customers as select * from raw.customers;
create table main.users_vip as select user_id, email from raw.customers where lifetime_value >= 1000;
create table main.country_codes (code varchar, name varchar);
insert into main.country_codes values ('DE', 'Germany'), ('FR', 'France');

-- The packages' models, in their custom schemas.
create schema if not exists marketing;
create table marketing.engaged_users as select user_id from main.customers where opted_in;
create view marketing.newsletter as select user_id, email from main.customers where opted_in;
create schema if not exists crm;
create view crm.engaged_users as select user_id from main.customers where last_seen > current_date - 30;
