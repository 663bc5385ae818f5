/** The error banner: host errors, refused messages and layout problems, each dismissible. */

/** One banner entry. */
export interface BannerEntry {
  id: number;
  text: string;
}

/** Props of {@link ErrorBanner}. */
export interface ErrorBannerProps {
  entries: BannerEntry[];
  onDismiss: (id: number) => void;
}

/** Lists the entries; renders nothing when there are none. */
export function ErrorBanner({ entries, onDismiss }: ErrorBannerProps) {
  if (entries.length === 0) return null;
  return (
    <div className="sense-banner" role="alert" data-testid="error-banner">
      {entries.slice(-5).map((e) => (
        <div key={e.id} className="sense-banner-entry">
          <i className="codicon codicon-error" aria-hidden="true" />
          <span className="sense-banner-text">{e.text}</span>
          <button type="button" className="sense-icon-button" aria-label="Dismiss" onClick={() => onDismiss(e.id)}>
            <i className="codicon codicon-close" aria-hidden="true" />
          </button>
        </div>
      ))}
    </div>
  );
}
