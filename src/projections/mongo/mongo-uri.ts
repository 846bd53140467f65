/**
 * What of a MongoDB connection string may be shown (logs, errors): the scheme and hosts only,
 * never the credentials, the database or the options (which may hold secrets too).
 */
export function mongoHosts(uri: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/)(?:[^@/?#]*@)?([^/?#]*)/i.exec(uri.trim());
  return match ? `${match[1]}${match[2]}` : 'an invalid MongoDB URI';
}

/** The whole user-info part and the password, raw and percent-decoded. */
function secretsOf(uri: string): string[] {
  const match = /^mongodb(?:\+srv)?:\/\/([^@/?#]*)@/i.exec(uri.trim());
  if (!match) return [];
  const userInfo = match[1];
  const colon = userInfo.indexOf(':');
  const password = colon >= 0 ? userInfo.slice(colon + 1) : '';
  return [userInfo, password, safeDecode(userInfo), safeDecode(password)].filter((s) => s !== '');
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `message` with the URI and its credentials replaced by `***`, whatever a driver put in it. */
export function withoutCredentials(message: string, uri: string): string {
  const secrets = [uri.trim(), ...secretsOf(uri)].sort((a, b) => b.length - a.length);
  return secrets.reduce((text, secret) => text.split(secret).join('***'), message);
}
