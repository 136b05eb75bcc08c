-- Who vouched for the credential an identity filed a request with: the person who minted its
-- API token, or the admin who registered the issuer of its workload token. Like the admin
-- who created a person's account, they may not decide the request.
ALTER TABLE requests ADD COLUMN vouched_by INTEGER REFERENCES users (id);
