-- What a GPT's Action spec offers (parts and collections), chosen per GPT. NULL: the defaults that fit
-- a typical GPT, so that a GPT that never chose follows them if they change.

ALTER TABLE gpts ADD COLUMN action_exposure jsonb;
