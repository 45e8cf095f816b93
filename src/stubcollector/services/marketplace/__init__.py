"""The marketplace: listings of stubs for sale, from browsing them to their sale.

Import the module you need; each owns one part:

- ``browsing``: browsing and searching the listings on sale (filters, the prebuilt
  statements, the page and total caches, the keyset cursor) and reading one listing
  (``get_listing``).
- ``selling``: a seller lists a stub, changes or withdraws a listing, and sees their own
  listings (``seller_listings``, ``stub_listing``).
- ``listing_status``: every change of a listing's status (reserve, release, sell,
  reactivate, change or withdraw while active, release a lapsed hold), each one
  compare-and-swap on the row with its audit entry.
- ``views``: what a listing looks like to its readers, and the one query shape that reads
  it with its stub and seller.

The expiry sweep that releases lapsed holds and cancels their orders and PaymentIntents
is ``services.checkout.release_expired`` (job ``marketplace.release_expired``). Whether a
user can buy and sell (``payment_compatibility``) belongs to ``services.onboarding``.
"""
