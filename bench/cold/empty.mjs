// The baseline of every cold-start figure: a handler that loads nothing and authorizes everything.
export const handler = async () => ({ isAuthorized: true });
