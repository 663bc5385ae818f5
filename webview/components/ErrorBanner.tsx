/**
 * The error banner: host errors, refused messages and layout problems, one entry per
 * distinct message (a repeat shows as a count on it), each dismissible. Its height is
 * capped by styles.css and it scrolls beyond, so errors never squeeze the graph.
 */

/** One banner entry: a distinct message and how many times it came. */
export interface BannerEntry {
  id: number;
  text: string;
  count: number;
}

/** Props of {@link ErrorBanner}. */
export interface ErrorBannerProps {
  entries: BannerEntry[];
  onDismiss: (id: number) => void;
  onDismissAll: () => void;
}

/** Lists the entries; renders nothing when there are none. */
export function ErrorBanner({ entries, onDismiss, onDismissAll }: ErrorBannerProps) {
  if (entries.length === 0) return null;
  return (
    <div className="sense-banner" role="alert" data-testid="error-banner">
      {entries.map((e) => (
        <div key={e.id} className="sense-banner-entry" data-testid="error-banner-entry">
          <i className="codicon codicon-error" aria-hidden="true" />
          <span className="sense-banner-text">{e.text}</span>
          {e.count > 1 ? (
            <span className="sense-banner-count" data-testid="error-banner-count" aria-label={`${e.count} times`}>
              ×{e.count}
            </span>
          ) : null}
          <button type="button" className="sense-icon-button" aria-label="Dismiss" onClick={() => onDismiss(e.id)}>
            <i className="codicon codicon-close" aria-hidden="true" />
          </button>
        </div>
      ))}
      {entries.length > 1 ? (
        <button type="button" className="sense-link-button sense-banner-clear" onClick={onDismissAll}>
          Dismiss all
        </button>
      ) : null}
    </div>
  );
}
