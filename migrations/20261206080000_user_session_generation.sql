-- Server-side logout: a session cookie names the generation it was issued
-- for; logging out increments the user's generation, so copies of the
-- cookie stop working.
ALTER TABLE "user" ADD COLUMN session_generation integer NOT NULL DEFAULT 0;
