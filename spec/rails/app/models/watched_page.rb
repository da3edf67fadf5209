# frozen_string_literal: true

# A table kept fresh by recrawls (recrawl_spec.rb): each visit stores the validators the next
# one sends back, touches checked_at and sets the next visit.
class WatchedPage < ApplicationRecord
  include UcrawlerNative::Model

  crawls :url, update: { title: :title, http_status: :status, crawl_error: :error, crawled_at: :now },
               recrawl: { etag: :etag, last_modified: :last_modified, content_hash: :content_hash,
                          checked_at: :checked_at, next_crawl_at: :next_crawl_at, interval: :crawl_interval }
end
