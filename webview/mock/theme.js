// Picks the mock theme from ?theme=light|dark|hc (VS Code sets these body classes itself).
document.addEventListener('DOMContentLoaded', () => {
  const theme = new URLSearchParams(location.search).get('theme') || 'dark';
  document.body.className = theme === 'light' ? 'vscode-light' : theme === 'hc' ? 'vscode-high-contrast' : 'vscode-dark';
});
