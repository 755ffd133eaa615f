-- SPDX-License-Identifier: MIT
-- Run once by the postgres image on an empty data directory
-- (/docker-entrypoint-initdb.d) as POSTGRES_USER (coordinator), who owns
-- it. The coordinator reads this table.
CREATE TABLE IF NOT EXISTS listings(
  id serial PRIMARY KEY, seller text, price_cents bigint,
  created_at timestamptz DEFAULT now());
INSERT INTO listings(seller, price_cents, created_at)
  SELECT 'seller-' || lpad((g % 97)::text, 2, '0'), 500 + (g * 7919) % 99500,
         now() - (1000 - g) * interval '37 seconds'
  FROM generate_series(1, 1000) g
  WHERE NOT EXISTS (SELECT 1 FROM listings);
