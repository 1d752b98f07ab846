import type Provider from 'oidc-provider';
import type { Interaction } from 'oidc-provider';

/**
 * A person who signs in as someone other than the browser's signed-in
 * account (`prompt=login` to switch accounts, or a member of the app's team
 * after someone of another team): oidc-provider's resume would answer with an
 * auto-submitting page to its end_session confirmation, which keyport leaves
 * off (rpInitiatedLogout) and whose inline script the page policy stops, so
 * the person would be stuck there. The password just proved the new account,
 * so the browser's previous session ends here, as that logout would end it,
 * and the interaction resumes into a fresh session.
 */
export async function endPreviousAccountSession(
  provider: Provider,
  interaction: Interaction,
  accountId: string,
): Promise<void> {
  const previous = interaction.session;
  if (!previous?.uid || previous.accountId === undefined || previous.accountId === accountId) return;
  const session = await provider.Session.findByUid(previous.uid);
  await session?.destroy();
  delete interaction.session;
  await interaction.persist();
}
