# frozen_string_literal: true

require "net/http"
require_relative "rails_helper"

# Helpers of the recrawl specs (WatchedPage: `crawls :url, recrawl: { ... }`).
module RecrawlHelpers
  DAY = 86_400

  # Rows on the test site's /page/N.html, never visited.
  def watch_pages(numbers, **attributes)
    now = Time.current
    rows = numbers.map { |n| { url: page_url(n), created_at: now, updated_at: now, **attributes } }
    WatchedPage.insert_all!(rows)
    WatchedPage.where(url: rows.map { |row| row[:url] }).order(:id).to_a
  end

  # Moves the shared test site to `generation` for the block, then back to 0 (other specs
  # expect the original site).
  def at_generation(generation)
    site_generation(generation)
    yield
  ensure
    site_generation(0)
  end

  def site_generation(generation)
    response = Net::HTTP.get_response(URI(site_url("/__testsite/generation/#{generation}")))
    raise "test site: generation #{generation}: #{response.code}" unless response.code == "200"
  end

  # The SQL of the UPDATE statements on watched_pages run inside the block.
  def updates
    sql = []
    callback = ->(*, payload) { sql << payload[:sql] if payload[:sql].match?(/\AUPDATE "watched_pages"/) }
    ActiveSupport::Notifications.subscribed(callback, "sql.active_record") { yield }
    sql
  end

  # `rows` by id: the listed columns, read back.
  def snapshot(ids, *columns)
    WatchedPage.where(id: ids).pluck(:id, *columns).to_h { |id, *values| [id, values] }
  end

  # Seconds from now to `time` (the next visit a row was given).
  def from_now(time)
    time - Time.current
  end
end
